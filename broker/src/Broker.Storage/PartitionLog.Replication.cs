using Broker.Protocol.Records;
using Broker.Storage.Checkpoints;
using Broker.Storage.FileSystem;
using Broker.Storage.Segments;

namespace Broker.Storage;

/// <summary>
/// What replication needs from a log: the leader-epoch cache (<c>leader-epoch-checkpoint</c>), appends of a leader's
/// batches as they are (<see cref="AppendAsFollower"/>), and truncation when a follower's log diverged
/// (<see cref="TruncateTo"/>). See docs/log-format.md, "Leader epochs and truncation".
/// </summary>
public sealed partial class PartitionLog
{
    private LeaderEpochCache _epochs;

    /// <summary>Each leader epoch that wrote to this log and its first offset.</summary>
    public LeaderEpochCache LeaderEpochs => _epochs;

    /// <summary>
    /// Kafka's maybeAssignEpochStartOffset: a replica that becomes leader in <paramref name="epoch"/> records that the
    /// epoch starts at the current log end, before it appends anything, so followers can find where it began.
    /// </summary>
    public void AssignEpochStartOffset(int epoch)
    {
        lock (_writeLock)
        {
            if (_closed)
            {
                ThrowHelper.ThrowLogClosed(Name);
            }

            _epochs.Assign(epoch, _logEndOffset);
        }
    }

    /// <summary>OffsetForLeaderEpoch / diverging-epoch lookup: see <see cref="LeaderEpochCache.EndOffsetFor"/>.</summary>
    public (int Epoch, long EndOffset) EndOffsetForEpoch(int requestedEpoch) => _epochs.EndOffsetFor(requestedEpoch, LogEndOffset);

    /// <summary>
    /// Appends a leader's batches unchanged: their offsets and leader epochs were assigned by the leader. The first batch
    /// must start at or after the log end (gaps are allowed, as after compaction) and offsets must increase; anything
    /// else throws <see cref="ArgumentException"/> and writes nothing. Producer state and the epoch cache follow the
    /// batches. No fsync unless flush.messages is reached.
    /// </summary>
    public AppendResult AppendAsFollower(Memory<byte> batches, long nowMs)
    {
        var span = batches.Span;
        var summary = IncomingBatches.Summarize(span);
        long firstOffset;
        long lastOffset;
        bool flushNow;
        lock (_writeLock)
        {
            if (_closed)
            {
                ThrowHelper.ThrowLogClosed(Name);
            }

            firstOffset = RecordBatchHeader.BaseOffset(span);
            lastOffset = CheckFollowerOffsets(span, _logEndOffset);
            var config = _config;
            var maxTimestamp = summary.MaxTimestamp;
            if (ShouldRoll(_active, config, span.Length, summary.BatchCount, maxTimestamp, lastOffset, nowMs))
            {
                Roll(firstOffset, nowMs, config);
            }

            _active.Append(span, config.IndexIntervalBytes);
            var position = 0;
            while (position < span.Length)
            {
                var batch = span[position..];
                var epoch = RecordBatchHeader.PartitionLeaderEpoch(batch);
                if (epoch > _epochs.LatestEpoch)
                {
                    _epochs.Assign(epoch, RecordBatchHeader.BaseOffset(batch));
                }

                position += RecordBatchHeader.TotalSize(batch);
            }

            if (summary.HasProducerIds)
            {
                UpdateProducers(span);
            }

            Volatile.Write(ref _logEndOffset, lastOffset + 1);
            flushNow = lastOffset + 1 - Volatile.Read(ref _recoveryPoint) >= config.FlushMessages;
        }

        if (flushNow)
        {
            Flush();
        }

        return new AppendResult(firstOffset, lastOffset, -1, LogStartOffset);
    }

    /// <summary>
    /// Removes every batch from the one holding <paramref name="targetOffset"/> on (Kafka truncates whole batches), and
    /// returns the new log end offset. Later segments leave the log (renamed to .deleted, their files removed after
    /// file.delete.delay.ms), the high watermark and recovery point come down to the new end, epochs that started at or
    /// after it leave the epoch cache, and the producer state is rebuilt from the remaining log. A target at or past
    /// the log end changes nothing. A concurrent read that already located bytes past the new end may fail; only
    /// followers truncate, and clients read from leaders.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The target is below the log start offset.</exception>
    public long TruncateTo(long targetOffset)
    {
        lock (_writeLock)
        {
            if (_closed)
            {
                ThrowHelper.ThrowLogClosed(Name);
            }

            if (targetOffset >= _logEndOffset)
            {
                // No record goes, but an epoch this replica started as leader at the log end without appending anything
                // must: a follower whose latest epoch the leader never had would otherwise send it as last_fetched_epoch
                // forever, get the same diverging epoch back and "truncate" to where it already is (Kafka's truncateTo
                // trims the epoch cache here too).
                _epochs.TruncateFromEnd(_logEndOffset);
                return _logEndOffset;
            }

            ArgumentOutOfRangeException.ThrowIfLessThan(targetOffset, _logStartOffset);
            var segments = _segments;
            var index = Math.Max(0, FloorIndex(segments, targetOffset));
            var config = _config;
            var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var previousEnd = _logEndOffset;

            // Readers load the log end first: lower it before any byte goes.
            Volatile.Write(ref _logEndOffset, Math.Min(targetOffset, segments[index].NextOffset));
            for (var j = segments.Length - 1; j > index; j--)
            {
                segments[j].RenameForDeletion();
                _retiredSegments.Add((segments[j], nowMs + config.FileDeleteDelayMs));
            }

            var segment = segments[index];
            if (index < segments.Length - 1)
            {
                _segments = segments[..(index + 1)];
                _active = segment;
                segment.PrepareForAppends(config.SegmentIndexBytes);
                Volatile.Write(ref _directoryDirty, 1);
            }

            var newEnd = segment.TruncateTo(targetOffset);
            Volatile.Write(ref _logEndOffset, newEnd);
            if (_highWatermark > newEnd)
            {
                Volatile.Write(ref _highWatermark, newEnd);
            }

            lock (_flushLock)
            {
                segment.Flush();
                if (_recoveryPoint > newEnd)
                {
                    Volatile.Write(ref _recoveryPoint, newEnd);
                }
            }

            _epochs.TruncateFromEnd(newEnd);
            _producers.Clear();
            LoadProducerState();
            StorageLog.LogTruncated(_logger, Name, previousEnd, newEnd, segments.Length - 1 - index);
            return newEnd;
        }
    }

    /// <summary>
    /// Kafka's truncateFullyAndStartAt, for a follower whose whole log lies below the leader's log start, or a Raft
    /// follower that installed a snapshot past its log: every segment leaves the log (renamed to .deleted, files removed
    /// after file.delete.delay.ms) and the log restarts empty at <paramref name="newOffset"/>, which becomes its log
    /// start, log end, high watermark and recovery point. The epoch cache and producer state (and its snapshots)
    /// describe the removed data, so they are cleared. Durable on return. Only followers do this; a concurrent read of
    /// the old segments may fail, as with <see cref="TruncateTo"/>.
    /// </summary>
    public void TruncateFullyAndStartAt(long newOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newOffset);
        lock (_writeLock)
        {
            if (_closed)
            {
                ThrowHelper.ThrowLogClosed(Name);
            }

            var segments = _segments;
            var config = _config;
            var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var previousEnd = _logEndOffset;

            // Renamed first, so the new segment may take a base offset an old one had.
            foreach (var old in segments)
            {
                old.RenameForDeletion();
                _retiredSegments.Add((old, nowMs + config.FileDeleteDelayMs));
            }

            var segment = LogSegment.Create(DirectoryPath, newOffset, config, nowMs, PartitionLogLoader.RollJitter(config, Name, newOffset));
            Volatile.Write(ref _logStartOffset, newOffset);
            _segments = [segment];
            _active = segment;
            Volatile.Write(ref _logEndOffset, newOffset);
            Volatile.Write(ref _highWatermark, newOffset);
            lock (_flushLock)
            {
                segment.Flush();
                DurableFile.FlushDirectory(DirectoryPath);
                Volatile.Write(ref _recoveryPoint, newOffset);
            }

            // Every epoch entry starts at an offset >= 0, so this drops them all.
            _epochs.TruncateFromEnd(long.MinValue);
            _producers.Clear();
            DeleteProducerSnapshotsBelow(long.MaxValue);
            StorageLog.LogTruncated(_logger, Name, previousEnd, newOffset, segments.Length);
        }
    }

    /// <summary>
    /// The epoch cache when the log opens: the checkpoint if it is readable, otherwise rebuilt from the batch headers
    /// (logs written before the file existed, or a torn file), then trimmed to the log's current bounds.
    /// </summary>
    private void LoadLeaderEpochs()
    {
        var entries = LeaderEpochCheckpointFile.TryRead(DirectoryPath);
        var rebuilt = entries is null;
        entries ??= ScanLeaderEpochs();
        _epochs = new LeaderEpochCache(() => DirectoryPath, entries);
        _epochs.TruncateFromEnd(_logEndOffset);
        _epochs.TruncateFromStart(_logStartOffset);
        if (rebuilt)
        {
            _epochs.Persist();
        }
    }

    private List<EpochEntry> ScanLeaderEpochs()
    {
        var entries = new List<EpochEntry>();
        Span<byte> buffer = stackalloc byte[BatchScanner.DefaultBufferSize];
        foreach (var segment in _segments)
        {
            var scanner = new BatchScanner(segment.FileHandle, buffer, segment.Size);
            long position = 0;
            while (scanner.TryReadHeader(position, out var header))
            {
                var epoch = RecordBatchHeader.PartitionLeaderEpoch(header);
                if (epoch >= 0 && (entries.Count == 0 || epoch > entries[^1].Epoch))
                {
                    entries.Add(new EpochEntry(epoch, RecordBatchHeader.BaseOffset(header)));
                }

                position += RecordBatchHeader.TotalSize(header);
            }
        }

        return entries;
    }

    /// <summary>Checks a follower append's offsets (first at or after the log end, increasing); returns the last offset.</summary>
    private static long CheckFollowerOffsets(ReadOnlySpan<byte> batches, long logEndOffset)
    {
        var expectedAtLeast = logEndOffset;
        long last = -1;
        var position = 0;
        while (position < batches.Length)
        {
            var batch = batches[position..];
            var baseOffset = RecordBatchHeader.BaseOffset(batch);
            if (baseOffset < expectedAtLeast)
            {
                ThrowHelper.ThrowInvalidBatches(
                    $"batch at offset {baseOffset} does not follow offset {expectedAtLeast - 1} (follower appends keep the leader's offsets)");
            }

            last = RecordBatchHeader.LastOffset(batch);
            expectedAtLeast = last + 1;
            position += RecordBatchHeader.TotalSize(batch);
        }

        return last;
    }
}
