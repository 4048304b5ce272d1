using Broker.Protocol;
using Broker.Protocol.Records;
using Broker.Storage.FileSystem;
using Broker.Storage.Producers;
using Broker.Storage.Segments;

namespace Broker.Storage;

/// <summary>
/// Idempotent producers: the per-partition producer state, checked on client appends, updated by every append,
/// snapshotted at each roll and at close (<c>&lt;offset&gt;.snapshot</c>), and rebuilt at load from the newest usable
/// snapshot plus a replay of the batch headers after it. Serialised with appends on the writer lock.
/// </summary>
public sealed partial class PartitionLog
{
    private readonly ProducerStateManager _producers = new();

    /// <summary>Producers this partition remembers (lock-free read; metrics).</summary>
    public int ProducerCount => _producers.Count;

    /// <summary>The producers this partition remembers, for DescribeProducers.</summary>
    public IReadOnlyList<ActiveProducer> ActiveProducers()
    {
        lock (_writeLock)
        {
            return _producers.ActiveProducers();
        }
    }

    /// <summary>Forgets producers idle for <paramref name="expirationMs"/> (producer.id.expiration.ms).</summary>
    public int RemoveExpiredProducers(long nowMs, long expirationMs)
    {
        lock (_writeLock)
        {
            return _closed ? 0 : _producers.RemoveExpired(nowMs, expirationMs);
        }
    }

    /// <summary>Offsets of the producer snapshots on disk, oldest first (tests and tools).</summary>
    internal List<long> ProducerSnapshotOffsets()
    {
        var offsets = new List<long>();
        foreach (var path in Directory.EnumerateFiles(DirectoryPath, "*" + LogFileNames.ProducerSnapshotSuffix))
        {
            if (LogFileNames.TryParseSegmentFile(Path.GetFileName(path), LogFileNames.ProducerSnapshotSuffix, out var offset))
            {
                offsets.Add(offset);
            }
        }

        offsets.Sort();
        return offsets;
    }

    /// <summary>
    /// Checks a client append (a single batch with a producer id) under the writer lock. Returns the answer to give
    /// instead of appending (a duplicate's original offsets, or an error), or null to go ahead.
    /// </summary>
    private AppendResult? CheckClientProducer(ReadOnlySpan<byte> batches, int batchCount, bool logAppendTime)
    {
        if (batchCount != 1)
        {
            // Produce v3+ carries exactly one batch per partition; the request validator enforces it.
            throw new ArgumentException("A client append with a producer id must be a single batch.", nameof(batches));
        }

        var check = _producers.Check(batches, out var duplicate, out var currentEpoch, out var currentLastSequence);
        if (check == ProducerCheck.Accept)
        {
            return null;
        }

        var producerId = RecordBatchHeader.ProducerId(batches);
        var epoch = RecordBatchHeader.ProducerEpoch(batches);
        var firstSequence = RecordBatchHeader.BaseSequence(batches);
        var offset = _logEndOffset;
        return check switch
        {
            ProducerCheck.Duplicate => new AppendResult(duplicate.FirstOffset, duplicate.LastOffset,
                logAppendTime ? duplicate.Timestamp : -1, _logStartOffset) { Duplicate = true },
            ProducerCheck.InvalidEpoch => Rejected(ErrorCode.InvalidProducerEpoch,
                $"Epoch of producer {producerId} at offset {offset} in {Name} is {epoch}, which is smaller than the last seen epoch {currentEpoch}"),
            _ when epoch != currentEpoch => Rejected(ErrorCode.OutOfOrderSequenceNumber,
                $"Invalid sequence number for new epoch of producer {producerId} at offset {offset} in partition {Name}: {epoch} (request epoch), {firstSequence} (seq. number), {currentEpoch} (current producer epoch)"),
            _ => Rejected(ErrorCode.OutOfOrderSequenceNumber,
                $"Out of order sequence number for producer {producerId} at offset {offset} in partition {Name}: {firstSequence} (incoming seq. number), {currentLastSequence} (current end sequence number)"),
        };
    }

    private AppendResult Rejected(ErrorCode error, string message) =>
        new(-1, -1, -1, _logStartOffset) { Error = error, ErrorMessage = message };

    /// <summary>Feeds every batch of a completed append (offsets assigned) to the producer state.</summary>
    private void UpdateProducers(ReadOnlySpan<byte> batches)
    {
        var position = 0;
        while (position < batches.Length)
        {
            var batch = batches[position..];
            _producers.Update(batch);
            position += RecordBatchHeader.TotalSize(batch);
        }
    }

    /// <summary>
    /// Loads the producer state when the log opens: drops snapshots beyond the log end (their data was truncated) and
    /// unreadable ones, takes the newest remaining snapshot, and replays batch headers from there to the log end. With
    /// no snapshot the whole log is replayed.
    /// </summary>
    private void LoadProducerState()
    {
        var logEndOffset = _logEndOffset;
        var segments = _segments;
        var replayFrom = segments[0].BaseOffset;
        var offsets = ProducerSnapshotOffsets();
        for (var i = offsets.Count - 1; i >= 0; i--)
        {
            var path = LogFileNames.ProducerSnapshotFile(DirectoryPath, offsets[i]);
            if (offsets[i] > logEndOffset)
            {
                File.Delete(path);
                continue;
            }

            if (_producers.TryLoadSnapshot(File.ReadAllBytes(path)))
            {
                replayFrom = Math.Max(replayFrom, offsets[i]);
                break;
            }

            StorageLog.ProducerSnapshotCorrupt(_logger, path);
            File.Delete(path);
        }

        if (replayFrom >= logEndOffset)
        {
            return;
        }

        var replayed = 0;
        Span<byte> buffer = stackalloc byte[BatchScanner.DefaultBufferSize];
        foreach (var segment in segments)
        {
            if (segment.NextOffset <= replayFrom)
            {
                continue;
            }

            var scanner = new BatchScanner(segment.FileHandle, buffer, segment.Size);
            var position = segment.BaseOffset >= replayFrom ? 0 : segment.OffsetIndex.LookupPosition(replayFrom);
            while (scanner.TryReadHeader(position, out var header))
            {
                if (RecordBatchHeader.LastOffset(header) >= replayFrom && RecordBatchHeader.ProducerId(header) >= 0)
                {
                    _producers.Update(header);
                    replayed++;
                }

                position += RecordBatchHeader.TotalSize(header);
            }
        }

        StorageLog.ProducerStateRebuilt(_logger, Name, replayFrom, logEndOffset, replayed, _producers.Count);
    }

    private void WriteProducerSnapshot(long offset, byte[] snapshot) =>
        DurableFile.WriteAtomically(LogFileNames.ProducerSnapshotFile(DirectoryPath, offset), snapshot);

    /// <summary>Snapshots below the first segment describe data that is gone; retention removes them with it.</summary>
    private void DeleteProducerSnapshotsBelow(long offset)
    {
        foreach (var snapshot in ProducerSnapshotOffsets())
        {
            if (snapshot < offset)
            {
                File.Delete(LogFileNames.ProducerSnapshotFile(DirectoryPath, snapshot));
            }
        }
    }
}
