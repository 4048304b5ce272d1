using Broker.Storage.Checkpoints;
using Broker.Storage.FileSystem;
using Broker.Storage.Segments;
using Microsoft.Extensions.Logging;

namespace Broker.Storage;

/// <summary>
/// The durable log of one partition: a directory <c>&lt;topic&gt;-&lt;partition&gt;</c> of segments, appended at the end,
/// read anywhere. Format and invariants in docs/log-format.md.
/// </summary>
/// <remarks>
/// Thread-safe. Appends (and rolls, config and log-start changes) serialise on one writer lock. Fetch reads take no
/// lock: the segment list is an immutable array replaced on roll, and every published value (segment size, log end
/// offset) is written with a release store after the data it describes, so a reader that loads the log end offset
/// first never observes an offset whose bytes are not readable yet. fsync runs under a separate flush lock, off the
/// append path: the segment a roll seals is flushed on the thread pool, and the recovery point only moves after the
/// flush finished.
/// </remarks>
public sealed partial class PartitionLog : IDisposable
{
    private readonly Lock _writeLock = new();
    private readonly Lock _flushLock = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile LogSegment[] _segments;
    private volatile LogConfig _config;
    private LogSegment _active;
    private long _logEndOffset;
    private long _logStartOffset;
    private long _highWatermark;
    private long _recoveryPoint;
    private long _lastFlushMs;
    private int _directoryDirty;
    private volatile bool _closed;
    private bool _disposed;

    // A boxed Guid so readers get it in one reference load; replaced once when an id is first assigned.
    private volatile object _topicId;

    private PartitionLog(string directory, string topic, int partition, Guid topicId, LogConfig config, LogSegment[] segments,
        long logEndOffset, long logStartOffset, TimeProvider time, ILogger logger)
    {
        DirectoryPath = directory;
        Topic = topic;
        Partition = partition;
        Name = LogFileNames.PartitionDir(topic, partition);
        _topicId = topicId;
        _config = config;
        _segments = segments;
        _active = segments[^1];
        _logEndOffset = logEndOffset;
        _logStartOffset = logStartOffset;
        _highWatermark = logEndOffset;
        _recoveryPoint = logEndOffset;
        _time = time;
        _logger = logger;
        _lastFlushMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        _epochs = new LeaderEpochCache(() => DirectoryPath, []);
    }

    public string Topic { get; }

    public int Partition { get; }

    /// <summary>"&lt;topic&gt;-&lt;partition&gt;", also the directory name.</summary>
    public string Name { get; }

    /// <summary>The partition directory (it moves to a "-delete" name when the log is deleted).</summary>
    public string DirectoryPath { get; private set; }

    /// <summary>Topic id from partition.metadata; <see cref="Guid.Empty"/> if never assigned.</summary>
    public Guid TopicId => (Guid)_topicId;

    public LogConfig Config => _config;

    /// <summary>Offset the next appended record gets.</summary>
    public long LogEndOffset => Volatile.Read(ref _logEndOffset);

    /// <summary>First offset a fetch may ask for; moves forward only (retention, DeleteRecords).</summary>
    public long LogStartOffset => Volatile.Read(ref _logStartOffset);

    /// <summary>
    /// Offsets below it are committed and visible to consumers. Set by the owner (for now the server sets it to the
    /// log end offset; replication will set it from follower progress). The value is capped at the log end offset
    /// and only moves forward: a lower value is ignored, so racing setters cannot move it back.
    /// Initialised to the log end offset when the log is opened.
    /// </summary>
    public long HighWatermark
    {
        get => Volatile.Read(ref _highWatermark);
        set
        {
            var target = Math.Min(value, LogEndOffset);
            while (true)
            {
                var current = Volatile.Read(ref _highWatermark);
                if (target <= current || Interlocked.CompareExchange(ref _highWatermark, target, current) == current)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Starts the high watermark at the value replication-offset-checkpoint kept (clamped between the log start and end)
    /// instead of the log end: records a restarted replica holds beyond it may never have been committed, and
    /// consumers must not see them before the leader's high watermark covers them again. Only while loading, before
    /// anything reads the log.
    /// </summary>
    public void RestoreHighWatermark(long checkpointed) =>
        Volatile.Write(ref _highWatermark, Math.Clamp(checkpointed, LogStartOffset, LogEndOffset));

    /// <summary>Every offset below it is fsynced; recovery after a crash starts at the segment holding it.</summary>
    public long RecoveryPoint => Volatile.Read(ref _recoveryPoint);

    public int SegmentCount => _segments.Length;

    /// <summary>Total bytes of all segments.</summary>
    public long SizeInBytes
    {
        get
        {
            long total = 0;
            foreach (var segment in _segments)
            {
                total += segment.Size;
            }

            return total;
        }
    }

    /// <summary>
    /// Appends one or more concatenated, already validated v2 batches: assigns offsets from the log end offset by
    /// rewriting each batch's baseOffset and partitionLeaderEpoch in place (and, for LogAppendTime, its maxTimestamp
    /// and CRC), then writes the bytes unchanged to the active segment, rolling first if needed. No fsync unless
    /// flush.messages is reached. Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The bytes are not a sequence of whole v2 batches.</exception>
    /// <exception cref="ObjectDisposedException">The log was closed or deleted.</exception>
    public AppendResult Append(Memory<byte> batches, int leaderEpoch, long nowMs, bool logAppendTime) =>
        Append(batches, leaderEpoch, nowMs, logAppendTime, AppendOrigin.Replication);

    /// <inheritdoc cref="Append(Memory{byte}, int, long, bool)"/>
    /// <remarks>
    /// A <see cref="AppendOrigin.Client"/> batch with a producer id is first checked against the producer state: a retry
    /// of a remembered batch returns the original offsets with <see cref="AppendResult.Duplicate"/>, a fenced epoch or
    /// a sequence gap returns <see cref="AppendResult.Error"/>, and in both cases nothing is written.
    /// </remarks>
    public AppendResult Append(Memory<byte> batches, int leaderEpoch, long nowMs, bool logAppendTime, AppendOrigin origin)
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

            if (summary.HasProducerIds && origin == AppendOrigin.Client
                && CheckClientProducer(span, summary.BatchCount, logAppendTime) is { } answer)
            {
                return answer;
            }

            var config = _config;
            firstOffset = _logEndOffset;
            lastOffset = firstOffset + summary.OffsetCount - 1;
            var maxTimestamp = logAppendTime ? nowMs : summary.MaxTimestamp;
            if (ShouldRoll(_active, config, span.Length, summary.BatchCount, maxTimestamp, lastOffset, nowMs))
            {
                Roll(firstOffset, nowMs, config);
            }

            IncomingBatches.AssignOffsets(span, firstOffset, leaderEpoch, logAppendTime, nowMs);
            _active.Append(span, config.IndexIntervalBytes);
            if (leaderEpoch > _epochs.LatestEpoch)
            {
                _epochs.Assign(leaderEpoch, firstOffset);
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

        return new AppendResult(firstOffset, lastOffset, logAppendTime ? nowMs : -1, LogStartOffset);
    }

    /// <summary>
    /// Locates whole batches for a fetch, without copying them: starts at the batch holding
    /// <paramref name="fetchOffset"/>, returns batches whose offsets are all below <paramref name="maxOffsetExclusive"/>
    /// (high watermark for consumers, log end for followers) and that fit in <paramref name="maxBytes"/>; with
    /// <paramref name="minOneBatch"/> a first batch larger than the limit is returned whole. Reads one segment; the
    /// next fetch continues in the next. Lock-free.
    /// </summary>
    public LogReadResult Read(long fetchOffset, int maxBytes, long maxOffsetExclusive, bool minOneBatch)
    {
        // Order matters: the end offset is loaded before the segment list (see the class remarks).
        var logEndOffset = LogEndOffset;
        var logStartOffset = LogStartOffset;
        var highWatermark = HighWatermark;
        if (fetchOffset < logStartOffset || fetchOffset > logEndOffset)
        {
            return new LogReadResult(LogReadError.OffsetOutOfRange, null, 0, 0, logStartOffset, logEndOffset, highWatermark);
        }

        var limit = Math.Min(maxOffsetExclusive, logEndOffset);
        if (fetchOffset < limit)
        {
            var segments = _segments;
            Span<byte> scanBuffer = stackalloc byte[BatchScanner.DefaultBufferSize];
            for (var i = Math.Max(0, FloorIndex(segments, fetchOffset)); i < segments.Length && segments[i].BaseOffset < limit; i++)
            {
                var segment = segments[i];
                if (segment.TryRead(fetchOffset, Math.Max(0, maxBytes), limit, minOneBatch, scanBuffer, out var position, out var length))
                {
                    return new LogReadResult(LogReadError.None, length > 0 ? segment.FileHandle : null, position, length,
                        logStartOffset, logEndOffset, highWatermark);
                }
            }
        }

        return new LogReadResult(LogReadError.None, null, 0, 0, logStartOffset, logEndOffset, highWatermark);
    }

    /// <summary>
    /// ListOffsets for a timestamp: the first record at or after the log start whose timestamp is at least
    /// <paramref name="targetTimestamp"/> (record precision; compressed batches are inflated to find it), or null if
    /// there is none. Lock-free.
    /// </summary>
    public TimestampOffset? OffsetForTimestamp(long targetTimestamp)
    {
        var logStartOffset = LogStartOffset;
        var segments = _segments;
        Span<byte> scanBuffer = stackalloc byte[BatchScanner.DefaultBufferSize];
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if ((i + 1 < segments.Length && segments[i + 1].BaseOffset <= logStartOffset) || segment.MaxTimestamp < targetTimestamp)
            {
                continue;
            }

            if (segment.TryFindOffsetForTimestamp(targetTimestamp, logStartOffset, scanBuffer, out var result))
            {
                return result;
            }
        }

        return null;
    }

    /// <summary>
    /// ListOffsets MAX_TIMESTAMP (-3): the first record carrying the largest timestamp in the log, or null when the
    /// log holds no timestamped record.
    /// </summary>
    public TimestampOffset? MaxTimestampOffset()
    {
        LogSegment? best = null;
        long bestTimestamp = -1;
        long bestOffset = -1;
        var logStartOffset = LogStartOffset;

        // The active segment's (timestamp, offset) pair changes together under the writer lock; read it there.
        lock (_writeLock)
        {
            var segments = _segments;
            for (var i = 0; i < segments.Length; i++)
            {
                if (i + 1 < segments.Length && segments[i + 1].BaseOffset <= logStartOffset)
                {
                    continue;
                }

                if (segments[i].MaxTimestamp > bestTimestamp)
                {
                    best = segments[i];
                    bestTimestamp = best.MaxTimestamp;
                    bestOffset = best.OffsetOfMaxTimestamp;
                }
            }
        }

        if (best is null)
        {
            return null;
        }

        Span<byte> scanBuffer = stackalloc byte[BatchScanner.DefaultBufferSize];
        return best.TryFindMaxTimestampOffset(bestTimestamp, bestOffset, logStartOffset, scanBuffer, out var result)
            ? result
            : null;
    }

    /// <summary>fsyncs everything up to the current log end offset, then advances the recovery point to it.</summary>
    public void Flush() => FlushUpTo(LogEndOffset);

    /// <summary>Applies flush.ms: flushes if there is unflushed data and the last flush is at least that old.</summary>
    /// <returns>True if a flush ran.</returns>
    public bool MaybeFlush(long nowMs)
    {
        if (_closed || LogEndOffset <= RecoveryPoint || nowMs - Volatile.Read(ref _lastFlushMs) < _config.FlushMs)
        {
            return false;
        }

        Flush();
        return true;
    }

    /// <summary>Moves the log start offset forward (DeleteRecords); never beyond the high watermark. Segment deletion
    /// below it is retention's job.</summary>
    public void IncrementLogStartOffset(long newLogStartOffset)
    {
        lock (_writeLock)
        {
            if (_closed)
            {
                ThrowHelper.ThrowLogClosed(Name);
            }

            ArgumentOutOfRangeException.ThrowIfGreaterThan(newLogStartOffset, HighWatermark);
            if (newLogStartOffset > _logStartOffset)
            {
                Volatile.Write(ref _logStartOffset, newLogStartOffset);
                _epochs.TruncateFromStart(newLogStartOffset);
            }
        }
    }

    /// <summary>Replaces the topic config; size limits apply from the next roll, timing and flush rules at once.</summary>
    public void UpdateConfig(LogConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
    }

    /// <summary>Flushes, seals the active segment's indexes to their real size and closes the files.</summary>
    public void Dispose() => Close(flush: true);

    internal static PartitionLog Create(string directory, string topic, int partition, Guid topicId, LogConfig config,
        TimeProvider time, ILogger logger)
    {
        var name = LogFileNames.PartitionDir(topic, partition);
        if (Directory.Exists(directory) && Directory.EnumerateFiles(directory, "*" + LogFileNames.LogSuffix).Any())
        {
            // Creating would truncate data that was never loaded; refuse rather than lose it.
            throw new InvalidOperationException($"Log directory '{directory}' already holds segments but is not an open log.");
        }

        Directory.CreateDirectory(directory);
        if (topicId != Guid.Empty)
        {
            PartitionMetadataFile.Write(directory, topicId);
        }

        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var segment = LogSegment.Create(directory, 0, config, nowMs, PartitionLogLoader.RollJitter(config, name, 0));
        DurableFile.FlushDirectory(directory);
        DurableFile.FlushDirectory(Path.GetDirectoryName(directory)!);
        return new PartitionLog(directory, topic, partition, topicId, config, [segment], 0, 0, time, logger);
    }

    internal static PartitionLog Open(string directory, string topic, int partition, LogConfig config, bool cleanShutdown,
        long recoveryPoint, long logStartOffset, TimeProvider time, ILogger logger)
    {
        var name = LogFileNames.PartitionDir(topic, partition);
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var loaded = PartitionLogLoader.Load(directory, name, config, cleanShutdown, recoveryPoint, logStartOffset, nowMs, logger);
        PartitionMetadataFile.TryRead(directory, out var topicId);
        var log = new PartitionLog(directory, topic, partition, topicId, config, loaded.Segments, loaded.LogEndOffset,
            loaded.LogStartOffset, time, logger);
        try
        {
            log.LoadProducerState();
            log.LoadLeaderEpochs();
        }
        catch
        {
            log.Close(flush: false);
            throw;
        }

        return log;
    }

    /// <summary>Records the topic id for a log created before ids were known. False if a different id is on disk.</summary>
    internal bool TryAssignTopicId(Guid topicId)
    {
        lock (_writeLock)
        {
            var current = TopicId;
            if (current == topicId || topicId == Guid.Empty)
            {
                return true;
            }

            if (current != Guid.Empty)
            {
                return false;
            }

            PartitionMetadataFile.Write(DirectoryPath, topicId);
            _topicId = topicId;
            return true;
        }
    }

    /// <summary>Refuses further appends but keeps the files open for in-flight reads (log deletion).</summary>
    internal void StopAppends(string movedTo)
    {
        lock (_writeLock)
        {
            _closed = true;
            DirectoryPath = movedTo;
        }
    }

    internal void Close(bool flush)
    {
        lock (_writeLock)
        {
            _closed = true;
        }

        // Segments retention already removed from the log: their delay no longer protects any reader.
        DeleteRetiredSegments(0, all: true);
        lock (_flushLock)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                if (flush)
                {
                    // The active segment is always synced: sealing just rewrote its index files.
                    _active.Seal();
                    var segments = _segments;
                    var recoveryPoint = _recoveryPoint;
                    for (var i = 0; i < segments.Length; i++)
                    {
                        var next = i + 1 < segments.Length ? segments[i + 1].BaseOffset : long.MaxValue;
                        if (next > recoveryPoint)
                        {
                            segments[i].Flush();
                        }
                    }

                    DurableFile.FlushDirectory(DirectoryPath);
                    Volatile.Write(ref _recoveryPoint, LogEndOffset);

                    // Appends are closed, so the state is final: the next open loads it without replaying anything.
                    WriteProducerSnapshot(LogEndOffset, _producers.SerializeSnapshot());
                }
            }
            finally
            {
                _disposed = true;
                foreach (var segment in _segments)
                {
                    segment.Dispose();
                }
            }
        }
    }

    /// <summary>Base offsets of the segments, oldest first (tests and tools).</summary>
    internal long[] SegmentBaseOffsets()
    {
        var segments = _segments;
        var result = new long[segments.Length];
        for (var i = 0; i < segments.Length; i++)
        {
            result[i] = segments[i].BaseOffset;
        }

        return result;
    }

    /// <summary>Index of the last segment whose base offset is at most <paramref name="offset"/>, or -1.</summary>
    private static int FloorIndex(LogSegment[] segments, long offset)
    {
        int lo = 0, hi = segments.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (segments[mid].BaseOffset <= offset)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found;
    }

    private static bool ShouldRoll(LogSegment segment, LogConfig config, int incomingBytes, int batchCount, long maxTimestamp,
        long lastOffset, long nowMs)
    {
        var size = (long)segment.Size;

        // An empty segment is never rolled: the new one would have the same base offset, i.e. the same files.
        if (size == 0)
        {
            return false;
        }

        return size > (long)config.SegmentBytes - incomingBytes
            || size + incomingBytes > int.MaxValue
            || segment.TimeWaitedForRoll(nowMs, maxTimestamp) > config.SegmentMs - segment.RollJitterMs
            || segment.OffsetIndex.Entries + batchCount > segment.OffsetIndex.MaxEntries
            || segment.TimeIndex.Entries + batchCount > segment.TimeIndex.MaxEntries - 1
            || lastOffset - segment.BaseOffset > int.MaxValue;
    }

    private void Roll(long newBaseOffset, long nowMs, LogConfig config)
    {
        var previous = _active;
        previous.Seal();
        var segment = LogSegment.Create(DirectoryPath, newBaseOffset, config, nowMs,
            PartitionLogLoader.RollJitter(config, Name, newBaseOffset));
        var current = _segments;
        var next = new LogSegment[current.Length + 1];
        Array.Copy(current, next, current.Length);
        next[^1] = segment;
        _active = segment;
        _segments = next;
        Volatile.Write(ref _directoryDirty, 1);
        StorageLog.SegmentRolled(_logger, Name, newBaseOffset, previous.Size);

        // The sealed segment is fsynced off the append path; the recovery point follows once it is durable. The producer
        // state as of the new base offset is captured now and written after the flush (Kafka snapshots at every roll).
        var snapshot = _producers.SerializeSnapshot();
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Log.FlushAfterRoll(state.UpTo, state.Snapshot),
            (Log: this, UpTo: newBaseOffset, Snapshot: snapshot), preferLocal: false);
    }

    private void FlushAfterRoll(long upTo, byte[] producerSnapshot)
    {
        try
        {
            FlushUpTo(upTo);
            if (!_closed)
            {
                WriteProducerSnapshot(upTo, producerSnapshot);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // The recovery point did not move, so nothing claims durability that was not achieved; the next flush retries.
            if (!_closed)
            {
                StorageLog.FlushFailed(_logger, Name, ex);
            }
        }
    }

    private void FlushUpTo(long offset)
    {
        lock (_flushLock)
        {
            // A truncation may have cut the log below an offset a roll asked to flush up to.
            offset = Math.Min(offset, LogEndOffset);
            if (_closed || _disposed || offset <= _recoveryPoint)
            {
                return;
            }

            var segments = _segments;
            var recoveryPoint = _recoveryPoint;
            for (var i = 0; i < segments.Length && segments[i].BaseOffset < offset; i++)
            {
                var next = i + 1 < segments.Length ? segments[i + 1].BaseOffset : long.MaxValue;
                if (next > recoveryPoint)
                {
                    segments[i].Flush();
                }
            }

            // New segment files must be durable in the directory too before the recovery point passes them.
            if (Interlocked.Exchange(ref _directoryDirty, 0) != 0)
            {
                try
                {
                    DurableFile.FlushDirectory(DirectoryPath);
                }
                catch
                {
                    Volatile.Write(ref _directoryDirty, 1);
                    throw;
                }
            }

            Volatile.Write(ref _recoveryPoint, offset);
            Volatile.Write(ref _lastFlushMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
        }
    }
}
