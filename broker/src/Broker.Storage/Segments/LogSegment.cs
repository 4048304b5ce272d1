using Broker.Protocol.Records;
using Broker.Storage.FileSystem;
using Microsoft.Win32.SafeHandles;

namespace Broker.Storage.Segments;

/// <summary>
/// One segment: <c>&lt;base&gt;.log</c> holding whole RecordBatches back to back, plus its sparse <c>.index</c> and
/// <c>.timeindex</c>. Layout and invariants in docs/log-format.md.
/// </summary>
/// <remarks>
/// Thread-safety: mutations (append, seal, recovery) come from one writer at a time, the owning
/// <see cref="Broker.Storage.PartitionLog"/>'s writer lock or its single-threaded loader. Reads are lock-free: the
/// writer publishes <see cref="Size"/> with a release store after the bytes and index entries are written, and a
/// reader never looks past the size it loaded.
/// </remarks>
internal sealed class LogSegment : IDisposable
{
    private readonly SafeFileHandle _log;
    private int _size;

    // Writer-side state.
    private int _bytesSinceLastIndexEntry;
    private long _firstBatchTimestamp = -1;
    private long _lastOffset;
    private long _maxTimestamp = -1;
    private long _offsetOfMaxTimestamp = -1;

    private LogSegment(string directory, long baseOffset, SafeFileHandle log, OffsetIndex offsetIndex, TimeIndex timeIndex,
        int size, long createdMs, long rollJitterMs)
    {
        Directory = directory;
        BaseOffset = baseOffset;
        _log = log;
        OffsetIndex = offsetIndex;
        TimeIndex = timeIndex;
        _size = size;
        _lastOffset = baseOffset - 1;
        CreatedMs = createdMs;
        RollJitterMs = rollJitterMs;
    }

    public string Directory { get; }

    public long BaseOffset { get; }

    public OffsetIndex OffsetIndex { get; }

    public TimeIndex TimeIndex { get; }

    /// <summary>Handle to the .log file, for fetch results to copy from.</summary>
    public SafeFileHandle FileHandle => _log;

    /// <summary>Bytes of whole batches, published after each append (acquire load).</summary>
    public int Size => Volatile.Read(ref _size);

    /// <summary>Wall-clock time the segment was created or opened; used for segment.ms when batches carry no timestamp.</summary>
    public long CreatedMs { get; }

    public long RollJitterMs { get; }

    /// <summary>Offset after the last batch (the base offset when empty). Writer only.</summary>
    public long NextOffset => _lastOffset + 1;

    /// <summary>Largest batch maxTimestamp, -1 if none. Racy read for readers (a single 64-bit value).</summary>
    public long MaxTimestamp => Volatile.Read(ref _maxTimestamp);

    /// <summary>Last offset of the first batch that reached <see cref="MaxTimestamp"/>. Writer (or writer lock) only.</summary>
    public long OffsetOfMaxTimestamp => _offsetOfMaxTimestamp;

    public static LogSegment Create(string directory, long baseOffset, LogConfig config, long nowMs, long rollJitterMs)
    {
        SafeFileHandle? log = null;
        OffsetIndex? offsetIndex = null;
        TimeIndex? timeIndex = null;
        try
        {
            // FileMode.Create: a leftover file with this base offset can only be an empty segment; start afresh.
            log = DurableFile.OpenReadWrite(LogFileNames.LogFile(directory, baseOffset), FileMode.Create);
            if (config.Preallocate)
            {
                RandomAccess.SetLength(log, config.SegmentBytes);
            }

            offsetIndex = new OffsetIndex(LogFileNames.IndexFile(directory, baseOffset), baseOffset, FileMode.Create);
            timeIndex = new TimeIndex(LogFileNames.TimeIndexFile(directory, baseOffset), baseOffset, FileMode.Create);
            offsetIndex.Preallocate(config.SegmentIndexBytes);
            timeIndex.Preallocate(config.SegmentIndexBytes);
            return new LogSegment(directory, baseOffset, log, offsetIndex, timeIndex, 0, nowMs, rollJitterMs);
        }
        catch
        {
            log?.Dispose();
            offsetIndex?.Dispose();
            timeIndex?.Dispose();
            throw;
        }
    }

    /// <summary>Opens existing files. Call <see cref="TryLoadFromIndexes"/> or <see cref="Recover"/> next.</summary>
    public static LogSegment Open(string directory, long baseOffset, long nowMs, long rollJitterMs, out bool indexesMissing)
    {
        SafeFileHandle? log = null;
        OffsetIndex? offsetIndex = null;
        TimeIndex? timeIndex = null;
        try
        {
            var logPath = LogFileNames.LogFile(directory, baseOffset);
            var indexPath = LogFileNames.IndexFile(directory, baseOffset);
            var timeIndexPath = LogFileNames.TimeIndexFile(directory, baseOffset);
            indexesMissing = !File.Exists(indexPath) || !File.Exists(timeIndexPath);
            log = DurableFile.OpenReadWrite(logPath, FileMode.Open);
            var length = RandomAccess.GetLength(log);
            if (length > int.MaxValue)
            {
                throw new InvalidDataException($"Segment '{logPath}' is {length} bytes, beyond the 2 GiB a segment can address.");
            }

            offsetIndex = new OffsetIndex(indexPath, baseOffset, FileMode.OpenOrCreate);
            timeIndex = new TimeIndex(timeIndexPath, baseOffset, FileMode.OpenOrCreate);
            return new LogSegment(directory, baseOffset, log, offsetIndex, timeIndex, (int)length, nowMs, rollJitterMs);
        }
        catch
        {
            log?.Dispose();
            offsetIndex?.Dispose();
            timeIndex?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Time the segment has been open for the purpose of segment.ms: timestamp distance from its first batch when
    /// that batch had a timestamp, wall clock since creation otherwise.
    /// </summary>
    public long TimeWaitedForRoll(long nowMs, long incomingMaxTimestamp) =>
        _firstBatchTimestamp >= 0 ? incomingMaxTimestamp - _firstBatchTimestamp : nowMs - CreatedMs;

    /// <summary>
    /// Writes batches whose offsets are already assigned at the end of the segment, indexes them, then publishes the
    /// new size. Writer only. On an I/O error the size is not published, so the next append overwrites the tail.
    /// </summary>
    public void Append(ReadOnlySpan<byte> batches, int indexIntervalBytes)
    {
        var position = _size;
        try
        {
            RandomAccess.Write(_log, batches, position);
        }
        catch (IOException)
        {
            TryCutTail(position);
            throw;
        }

        var offset = 0;
        while (offset < batches.Length)
        {
            var batch = batches[offset..];
            var total = RecordBatchHeader.TotalSize(batch);
            OnBatch(position + offset, total, RecordBatchHeader.LastOffset(batch), RecordBatchHeader.MaxTimestamp(batch), indexIntervalBytes);
            offset += total;
        }

        Volatile.Write(ref _size, position + batches.Length);
    }

    /// <summary>
    /// Makes the segment read-only on disk: records the final maximum timestamp in the time index and cuts the
    /// preallocated index files (and a preallocated log) to their real size. Idempotent. Writer only.
    /// </summary>
    public void Seal()
    {
        TimeIndex.MaybeAppend(_maxTimestamp, _offsetOfMaxTimestamp, final: true);
        OffsetIndex.TrimToValidSize();
        TimeIndex.TrimToValidSize();
        if (RandomAccess.GetLength(_log) != _size)
        {
            RandomAccess.SetLength(_log, _size);
        }
    }

    /// <summary>Re-extends the indexes of a segment that becomes the active one after loading.</summary>
    public void PrepareForAppends(int segmentIndexBytes)
    {
        OffsetIndex.Preallocate(segmentIndexBytes);
        TimeIndex.Preallocate(segmentIndexBytes);
    }

    /// <summary>fsyncs the log and both indexes.</summary>
    public void Flush()
    {
        RandomAccess.FlushToDisk(_log);
        OffsetIndex.Flush();
        TimeIndex.Flush();
    }

    /// <summary>
    /// Restores writer state from trusted indexes (after a clean shutdown, or before the recovery point): checks them
    /// against the log, then scans only the batches after the last offset-index entry. False if anything is
    /// inconsistent; the caller then recovers the segment.
    /// </summary>
    public bool TryLoadFromIndexes(long offsetLimit)
    {
        if (!OffsetIndex.TryLoadFromFileLength() || !TimeIndex.TryLoadFromFileLength()
            || !OffsetIndex.IsConsistent(_size) || !TimeIndex.IsConsistent(offsetLimit))
        {
            return false;
        }

        _maxTimestamp = TimeIndex.LastTimestamp;
        _offsetOfMaxTimestamp = TimeIndex.LastOffset;
        Span<byte> buffer = stackalloc byte[BatchScanner.DefaultBufferSize];
        var scanner = new BatchScanner(_log, buffer, _size);
        if (scanner.TryReadHeader(0, out var first))
        {
            _firstBatchTimestamp = RecordBatchHeader.MaxTimestamp(first);
        }

        long position = OffsetIndex.LastPosition;
        var lastOffset = BaseOffset - 1;
        while (scanner.TryReadHeader(position, out var header))
        {
            lastOffset = RecordBatchHeader.LastOffset(header);
            var maxTimestamp = RecordBatchHeader.MaxTimestamp(header);
            if (maxTimestamp > _maxTimestamp)
            {
                _maxTimestamp = maxTimestamp;
                _offsetOfMaxTimestamp = lastOffset;
            }

            position += RecordBatchHeader.TotalSize(header);
        }

        if (position != _size || lastOffset >= offsetLimit || (_size > 0 && lastOffset < BaseOffset))
        {
            return false;
        }

        _lastOffset = lastOffset;
        _bytesSinceLastIndexEntry = (int)(position - OffsetIndex.LastPosition);
        return true;
    }

    /// <summary>
    /// Rebuilds both indexes by reading every batch from position 0 and checking its framing, offsets and CRC. Stops at
    /// the first torn or invalid batch and returns the length of the valid prefix; the file itself is not truncated
    /// here, so the caller can first delete later segments (a crash in between must not leave a gap).
    /// </summary>
    public long Recover(int indexIntervalBytes, int segmentIndexBytes, out long fileLength, out string? stopReason)
    {
        OffsetIndex.Reset(segmentIndexBytes);
        TimeIndex.Reset(segmentIndexBytes);
        _bytesSinceLastIndexEntry = 0;
        _firstBatchTimestamp = -1;
        _lastOffset = BaseOffset - 1;
        _maxTimestamp = -1;
        _offsetOfMaxTimestamp = -1;

        fileLength = RandomAccess.GetLength(_log);
        var reader = new RecoveryReader(_log, fileLength);
        long position = 0;
        stopReason = null;
        try
        {
            while (position < fileLength)
            {
                stopReason = reader.Validate(position, BaseOffset, _lastOffset, out var total, out var lastOffset, out var maxTimestamp);
                if (stopReason is not null)
                {
                    break;
                }

                OnBatch((int)position, total, lastOffset, maxTimestamp, indexIntervalBytes);
                position += total;
            }
        }
        finally
        {
            reader.Dispose();
        }

        Volatile.Write(ref _size, (int)position);
        return position;
    }

    /// <summary>
    /// Log truncation (a follower whose log diverged from its leader's): removes the first batch whose last offset is
    /// at least <paramref name="targetOffset"/> and everything after it, from the indexes, the writer state and the
    /// file, and returns the new next offset (below the target when the target falls inside a batch, as in Kafka). The
    /// smaller size is published before the file shrinks, so new reads stop at it; the caller fsyncs. Writer only.
    /// </summary>
    public long TruncateTo(long targetOffset)
    {
        Span<byte> buffer = stackalloc byte[BatchScanner.DefaultBufferSize];
        var size = _size;
        var scanner = new BatchScanner(_log, buffer, size);
        long position = OffsetIndex.LookupPosition(targetOffset);
        while (scanner.TryReadHeader(position, out var header) && RecordBatchHeader.LastOffset(header) < targetOffset)
        {
            position += RecordBatchHeader.TotalSize(header);
        }

        if (position >= size)
        {
            return NextOffset;
        }

        var cut = (int)position;
        Volatile.Write(ref _size, cut);
        OffsetIndex.TruncateToPosition(cut);

        // The writer state of the batches that remain, from their headers.
        var lastOffset = BaseOffset - 1;
        long maxTimestamp = -1;
        long offsetOfMaxTimestamp = -1;
        long firstBatchTimestamp = -1;
        var remaining = new BatchScanner(_log, buffer, cut);
        long at = 0;
        while (remaining.TryReadHeader(at, out var header))
        {
            lastOffset = RecordBatchHeader.LastOffset(header);
            var batchMaxTimestamp = RecordBatchHeader.MaxTimestamp(header);
            if (at == 0)
            {
                firstBatchTimestamp = batchMaxTimestamp;
            }

            if (batchMaxTimestamp > maxTimestamp)
            {
                maxTimestamp = batchMaxTimestamp;
                offsetOfMaxTimestamp = lastOffset;
            }

            at += RecordBatchHeader.TotalSize(header);
        }

        _lastOffset = lastOffset;
        _firstBatchTimestamp = firstBatchTimestamp;
        _offsetOfMaxTimestamp = offsetOfMaxTimestamp;
        Volatile.Write(ref _maxTimestamp, maxTimestamp);
        TimeIndex.TruncateToOffset(lastOffset + 1);
        _bytesSinceLastIndexEntry = cut - (OffsetIndex.Entries == 0 ? 0 : OffsetIndex.LastPosition);

        // The cut bytes must leave the file: recovery after a crash would otherwise find them valid and keep them.
        RandomAccess.SetLength(_log, cut);
        return NextOffset;
    }

    /// <summary>Cuts the log file to <paramref name="validBytes"/> after <see cref="Recover"/> found a bad tail.</summary>
    public void TruncateLogTo(long validBytes) => RandomAccess.SetLength(_log, validBytes);

    /// <summary>
    /// Finds where a fetch for <paramref name="fetchOffset"/> starts in this segment and how many bytes of whole
    /// batches it returns. False if no batch in the segment ends at or after the fetch offset.
    /// </summary>
    public bool TryRead(long fetchOffset, int maxBytes, long offsetLimit, bool minOneBatch, Span<byte> scanBuffer,
        out long position, out int length)
    {
        length = 0;
        var size = Size;
        var scanner = new BatchScanner(_log, scanBuffer, size);
        position = OffsetIndex.LookupPosition(fetchOffset);
        ReadOnlySpan<byte> header;
        while (true)
        {
            if (!scanner.TryReadHeader(position, out header))
            {
                return false;
            }

            if (RecordBatchHeader.LastOffset(header) >= fetchOffset)
            {
                break;
            }

            position += RecordBatchHeader.TotalSize(header);
        }

        // A batch is returned only when all its offsets are below the limit (high watermark or LEO).
        if (RecordBatchHeader.LastOffset(header) >= offsetLimit)
        {
            return true;
        }

        var firstSize = RecordBatchHeader.TotalSize(header);
        if (firstSize > maxBytes)
        {
            length = minOneBatch ? firstSize : 0;
            return true;
        }

        // Jump close to the byte limit with the index instead of walking every header in between.
        var byteLimit = position + maxBytes;
        var end = Math.Max(position + firstSize, OffsetIndex.FloorPosition(Math.Min(byteLimit, size), offsetLimit));
        while (scanner.TryReadHeader(end, out header))
        {
            var total = RecordBatchHeader.TotalSize(header);
            if (RecordBatchHeader.LastOffset(header) >= offsetLimit || end + total > byteLimit)
            {
                break;
            }

            end += total;
        }

        length = (int)(end - position);
        return true;
    }

    /// <summary>
    /// ListOffsets by timestamp within this segment: the first record at or after <paramref name="minOffset"/> whose
    /// timestamp is at least the target.
    /// </summary>
    public bool TryFindOffsetForTimestamp(long targetTimestamp, long minOffset, Span<byte> scanBuffer, out TimestampOffset result)
    {
        result = default;
        var size = Size;
        var scanner = new BatchScanner(_log, scanBuffer, size);
        long position = OffsetIndex.LookupPosition(Math.Max(TimeIndex.LookupOffset(targetTimestamp), minOffset));
        while (scanner.TryReadHeader(position, out var header))
        {
            var total = RecordBatchHeader.TotalSize(header);
            if (RecordBatchHeader.MaxTimestamp(header) >= targetTimestamp
                && RecordBatchHeader.LastOffset(header) >= minOffset
                && TryMatchRecord(position, total, targetTimestamp, minOffset, out result))
            {
                return true;
            }

            position += total;
        }

        return false;
    }

    /// <summary>
    /// ListOffsets MAX_TIMESTAMP within this segment, given the (timestamp, last offset of its batch) pair the caller
    /// snapshotted under the writer lock.
    /// </summary>
    public bool TryFindMaxTimestampOffset(long maxTimestamp, long batchLastOffset, long minOffset, Span<byte> scanBuffer,
        out TimestampOffset result)
    {
        result = default;
        var scanner = new BatchScanner(_log, scanBuffer, Size);
        long position = OffsetIndex.LookupPosition(batchLastOffset);
        while (scanner.TryReadHeader(position, out var header))
        {
            var total = RecordBatchHeader.TotalSize(header);
            if (RecordBatchHeader.LastOffset(header) >= batchLastOffset)
            {
                return TryMatchRecord(position, total, maxTimestamp, minOffset, out result);
            }

            position += total;
        }

        return false;
    }

    /// <summary>Closes the files and deletes them (recovery truncation, log start beyond the end).</summary>
    /// <summary>
    /// First step of retention's delete: renames the files to <c>*.deleted</c>. Open handles stay valid, so fetches
    /// already reading this segment finish; a crash before <see cref="DeleteRenamedFiles"/> leaves only files the
    /// loader removes.
    /// </summary>
    public void RenameForDeletion()
    {
        foreach (var path in SegmentFiles())
        {
            if (File.Exists(path))
            {
                File.Move(path, path + LogFileNames.DeletedSuffix, overwrite: true);
            }
        }
    }

    /// <summary>Second step: closes the files and deletes the renamed ones.</summary>
    public void DeleteRenamedFiles()
    {
        Dispose();
        foreach (var path in SegmentFiles())
        {
            File.Delete(path + LogFileNames.DeletedSuffix);
        }
    }

    /// <summary>Modification time of the .log file, retention's clock for segments without record timestamps.</summary>
    public long LastModifiedMs => new DateTimeOffset(File.GetLastWriteTimeUtc(LogFileNames.LogFile(Directory, BaseOffset))).ToUnixTimeMilliseconds();

    private string[] SegmentFiles() =>
    [
        LogFileNames.LogFile(Directory, BaseOffset),
        LogFileNames.IndexFile(Directory, BaseOffset),
        LogFileNames.TimeIndexFile(Directory, BaseOffset),
    ];

    public void DeleteFiles()
    {
        Dispose();
        File.Delete(LogFileNames.LogFile(Directory, BaseOffset));
        File.Delete(LogFileNames.IndexFile(Directory, BaseOffset));
        File.Delete(LogFileNames.TimeIndexFile(Directory, BaseOffset));
    }

    public void Dispose()
    {
        _log.Dispose();
        OffsetIndex.Dispose();
        TimeIndex.Dispose();
    }

    /// <summary>Index rule shared by append and recovery (see docs/log-format.md, "Index entries").</summary>
    private void OnBatch(int position, int totalSize, long lastOffset, long maxTimestamp, int indexIntervalBytes)
    {
        if (position == 0)
        {
            _firstBatchTimestamp = maxTimestamp;
        }

        if (maxTimestamp > _maxTimestamp)
        {
            _offsetOfMaxTimestamp = lastOffset;
            Volatile.Write(ref _maxTimestamp, maxTimestamp);
        }

        if (_bytesSinceLastIndexEntry > indexIntervalBytes)
        {
            OffsetIndex.TryAppend(lastOffset, position);
            TimeIndex.MaybeAppend(_maxTimestamp, _offsetOfMaxTimestamp);
            _bytesSinceLastIndexEntry = 0;
        }

        _bytesSinceLastIndexEntry += totalSize;
        _lastOffset = lastOffset;
    }

    private bool TryMatchRecord(long position, int total, long targetTimestamp, long minOffset, out TimestampOffset result)
    {
        result = default;
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var batch = rented.AsSpan(0, total);
            SegmentIo.ReadExactly(_log, batch, position);
            if (!RecordTimestamps.TryFindFirst(batch, targetTimestamp, minOffset, out var offset, out var timestamp))
            {
                return false;
            }

            result = new TimestampOffset(offset, timestamp, RecordBatchHeader.PartitionLeaderEpoch(batch));
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void TryCutTail(int position)
    {
        try
        {
            RandomAccess.SetLength(_log, position);
        }
        catch (IOException)
        {
            // Best effort: the unpublished tail is overwritten by the next append or cut by recovery.
        }
    }
}
