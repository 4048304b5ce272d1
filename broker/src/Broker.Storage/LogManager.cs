using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Broker.Storage.Checkpoints;
using Broker.Storage.FileSystem;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Storage;

/// <summary>
/// Owns the log dirs: their meta.properties, checkpoints and clean-shutdown markers, and every partition log in them.
/// Layout in docs/log-format.md.
/// </summary>
/// <remarks>
/// Thread-safe. Lookups are lock-free (a concurrent dictionary); creating, deleting and closing logs serialise on a
/// lifecycle lock so a partition is never created twice; checkpoint writes serialise on their own lock.
/// </remarks>
public sealed class LogManager : IDisposable, IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Topic, int Partition), PartitionLog> _logs = new();
    private readonly Lock _lifecycleLock = new();
    private readonly Lock _checkpointLock = new();
    private readonly List<PendingDeletion> _pendingDeletions = [];
    private readonly LogManagerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILogger _partitionLogger;
    private long _brokerEpoch = -1;
    private bool _closed;

    private LogManager(LogManagerOptions options, TimeProvider time, ILoggerFactory loggerFactory, string clusterId,
        LogDirectory[] directories)
    {
        _options = options;
        _time = time;
        _logger = loggerFactory.CreateLogger<LogManager>();
        _partitionLogger = loggerFactory.CreateLogger<PartitionLog>();
        ClusterId = clusterId;
        Directories = directories;
    }

    public string ClusterId { get; }

    public int NodeId => _options.NodeId;

    public IReadOnlyList<LogDirectory> Directories { get; }

    /// <summary>Broker epoch recorded in the clean-shutdown marker found at startup, or -1 (KIP-966 PreviousBrokerEpoch).</summary>
    public long PreviousBrokerEpoch { get; private set; } = -1;

    /// <summary>Written into the clean-shutdown marker at close; the server sets it after broker registration.</summary>
    public long BrokerEpoch
    {
        get => Interlocked.Read(ref _brokerEpoch);
        set => Interlocked.Exchange(ref _brokerEpoch, value);
    }

    /// <summary>Snapshot of all open logs.</summary>
    public IReadOnlyCollection<PartitionLog> AllLogs => [.. _logs.Values];

    /// <summary>
    /// Prepares every log dir (meta.properties written or verified) and loads every partition found in them:
    /// trusting indexes after a clean shutdown, recovering the unflushed tail otherwise.
    /// </summary>
    /// <exception cref="InvalidOperationException">A log dir belongs to another node or cluster, or a partition
    /// appears in two log dirs.</exception>
    public static LogManager Open(LogManagerOptions options, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (options.LogDirs.Count == 0)
        {
            throw new ArgumentException("At least one log dir is required.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.NodeId);
        var paths = new string[options.LogDirs.Count];
        for (var i = 0; i < paths.Length; i++)
        {
            paths[i] = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.LogDirs[i]));
            if (Array.IndexOf(paths, paths[i], 0, i) >= 0)
            {
                throw new ArgumentException($"Log dir '{paths[i]}' is listed twice.", nameof(options));
            }
        }

        var (clusterId, directories) = PrepareDirectories(paths, options);
        var manager = new LogManager(options, timeProvider, loggerFactory ?? NullLoggerFactory.Instance, clusterId, directories);
        try
        {
            options.RecoveryProgress?.Begin(paths);
            foreach (var directory in directories)
            {
                manager.LoadDirectory(directory.Path);
            }

            options.RecoveryProgress?.Complete();
        }
        catch
        {
            foreach (var log in manager._logs.Values)
            {
                log.Close(flush: false);
            }

            throw;
        }

        return manager;
    }

    /// <summary>
    /// The log of a partition, created (in the log dir holding the fewest partitions) if it does not exist yet. An
    /// existing log takes <paramref name="config"/>, since the topic's settings may have changed while it was closed.
    /// </summary>
    /// <exception cref="ArgumentException">Illegal topic name or negative partition.</exception>
    /// <exception cref="InconsistentTopicIdException">The existing log belongs to another topic id.</exception>
    public PartitionLog GetOrCreateLog(string topic, int partition, Guid topicId, LogConfig config)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(config);
        if (!LogFileNames.IsValidTopicName(topic))
        {
            throw new ArgumentException($"'{topic}' is not a legal topic name.", nameof(topic));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        if (!_logs.TryGetValue((topic, partition), out var log))
        {
            lock (_lifecycleLock)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (!_logs.TryGetValue((topic, partition), out log))
                {
                    var logDir = LeastLoadedDirectory();
                    var path = Path.Combine(logDir, LogFileNames.PartitionDir(topic, partition));
                    log = PartitionLog.Create(path, topic, partition, topicId, config, _time, _partitionLogger);
                    _logs[(topic, partition)] = log;
                    StorageLog.LogCreated(_logger, log.Name, logDir);
                    return log;
                }
            }
        }

        if (!log.TryAssignTopicId(topicId))
        {
            throw new InconsistentTopicIdException(
                $"Log {log.Name} belongs to topic id {KafkaUuid.ToBase64Url(log.TopicId)}, not {KafkaUuid.ToBase64Url(topicId)}.");
        }

        // Logs found at startup were opened with a guessed config; the caller knows the topic's.
        if (!ReferenceEquals(log.Config, config))
        {
            log.UpdateConfig(config);
        }

        return log;
    }

    public bool TryGetLog(string topic, int partition, [NotNullWhen(true)] out PartitionLog? log) =>
        _logs.TryGetValue((topic, partition), out log);

    /// <summary>
    /// Removes a partition's log: renames its directory to "&lt;topic&gt;-&lt;partition&gt;.&lt;uuid&gt;-delete" at once (so a
    /// restart never loads it again), refuses appends, and deletes the files after the log's file.delete.delay.ms
    /// so in-flight fetches can still copy from them (see <see cref="FlushDue"/>).
    /// </summary>
    /// <returns>False if there was no such log.</returns>
    public bool DeleteLog(string topic, int partition)
    {
        PendingDeletion deletion;
        lock (_lifecycleLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (!_logs.TryRemove((topic, partition), out var log))
            {
                return false;
            }

            var parent = Path.GetDirectoryName(log.DirectoryPath)!;
            var target = Path.Combine(parent, LogFileNames.DeleteDirName(topic, partition, _options.NewGuid()));
            Directory.Move(log.DirectoryPath, target);
            DurableFile.FlushDirectory(parent);
            log.StopAppends(target);
            StorageLog.LogDeletionScheduled(_logger, log.Name, target);
            deletion = new PendingDeletion(log, target, NowMs() + Math.Max(0, log.Config.FileDeleteDelayMs));
            if (log.Config.FileDeleteDelayMs > 0)
            {
                _pendingDeletions.Add(deletion);
                return true;
            }
        }

        Complete(deletion);
        return true;
    }

    /// <summary>Forgets producers idle for producer.id.expiration.ms in every log. Returns how many. Thread-safe.</summary>
    public int RemoveExpiredProducers(long nowMs, long expirationMs)
    {
        var removed = 0;
        foreach (var log in _logs.Values)
        {
            removed += log.RemoveExpiredProducers(nowMs, expirationMs);
        }

        return removed;
    }

    /// <summary>
    /// Applies retention to every log and removes the files of segments it retired earlier once their
    /// file.delete.delay.ms has passed. Returns the number of segments removed now. Thread-safe.
    /// </summary>
    public int ApplyRetention(long nowMs)
    {
        var removed = 0;
        foreach (var log in _logs.Values)
        {
            try
            {
                removed += log.ApplyRetention(nowMs);
                log.DeleteRetiredSegments(nowMs);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                StorageLog.RetentionFailed(_logger, log.Name, ex);
            }
        }

        return removed;
    }

    /// <summary>
    /// Periodic work the owner calls on a timer: flushes logs whose flush.ms elapsed, and finishes log deletions whose
    /// file.delete.delay.ms elapsed. Failures are logged per log and do not stop the others.
    /// </summary>
    public void FlushDue(long nowMs)
    {
        foreach (var log in _logs.Values)
        {
            try
            {
                log.MaybeFlush(nowMs);
            }
            catch (IOException ex)
            {
                StorageLog.FlushFailed(_logger, log.Name, ex);
            }
        }

        List<PendingDeletion>? due = null;
        lock (_lifecycleLock)
        {
            for (var i = _pendingDeletions.Count - 1; i >= 0; i--)
            {
                if (_pendingDeletions[i].DueMs <= nowMs)
                {
                    (due ??= []).Add(_pendingDeletions[i]);
                    _pendingDeletions.RemoveAt(i);
                }
            }
        }

        if (due is not null)
        {
            foreach (var deletion in due)
            {
                Complete(deletion);
            }
        }
    }

    /// <summary>
    /// Writes recovery-point-offset-checkpoint and log-start-offset-checkpoint in every log dir (atomically), from the
    /// logs' current values. The owner calls it periodically (Kafka: every 60 s) and it runs at close.
    /// </summary>
    public void Checkpoint()
    {
        lock (_checkpointLock)
        {
            foreach (var directory in Directories)
            {
                var recoveryPoints = new List<CheckpointEntry>();
                var logStarts = new List<CheckpointEntry>();
                foreach (var log in _logs.Values)
                {
                    if (string.Equals(Path.GetDirectoryName(log.DirectoryPath), directory.Path, StringComparison.Ordinal))
                    {
                        recoveryPoints.Add(new CheckpointEntry(log.Topic, log.Partition, log.RecoveryPoint));
                        logStarts.Add(new CheckpointEntry(log.Topic, log.Partition, log.LogStartOffset));
                    }
                }

                recoveryPoints.Sort(CompareEntries);
                logStarts.Sort(CompareEntries);
                OffsetCheckpointFile.Write(Path.Combine(directory.Path, LogFileNames.RecoveryPointCheckpoint), recoveryPoints);
                OffsetCheckpointFile.Write(Path.Combine(directory.Path, LogFileNames.LogStartOffsetCheckpoint), logStarts);
            }
        }
    }

    /// <summary>
    /// Writes replication-offset-checkpoint in every log dir (atomically): each partition's high watermark, the metadata
    /// log's excepted, as Kafka's ReplicaManager does every replica.high.watermark.checkpoint.interval.ms and at close.
    /// A log opened later starts its high watermark there (<see cref="PartitionLog.RestoreHighWatermark"/>).
    /// </summary>
    public void CheckpointHighWatermarks()
    {
        lock (_checkpointLock)
        {
            foreach (var directory in Directories)
            {
                var highWatermarks = new List<CheckpointEntry>();
                foreach (var log in _logs.Values)
                {
                    if (log.Topic != LogFileNames.MetadataTopic
                        && string.Equals(Path.GetDirectoryName(log.DirectoryPath), directory.Path, StringComparison.Ordinal))
                    {
                        highWatermarks.Add(new CheckpointEntry(log.Topic, log.Partition, log.HighWatermark));
                    }
                }

                highWatermarks.Sort(CompareEntries);
                OffsetCheckpointFile.Write(Path.Combine(directory.Path, LogFileNames.ReplicationOffsetCheckpoint), highWatermarks);
            }
        }
    }

    /// <summary>
    /// Clean shutdown: flush and close every log, finish pending deletions, write the checkpoints, then the
    /// clean-shutdown marker in each log dir. If any log fails to close, no marker is written, so the next start
    /// recovers.
    /// </summary>
    public void Close()
    {
        List<PendingDeletion> deletions;
        lock (_lifecycleLock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            deletions = [.. _pendingDeletions];
            _pendingDeletions.Clear();
        }

        var failures = new ConcurrentQueue<Exception>();
        Parallel.ForEach(_logs.Values, log =>
        {
            try
            {
                log.Close(flush: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                StorageLog.CloseFailed(_logger, log.Name, ex);
                failures.Enqueue(ex);
            }
        });

        foreach (var deletion in deletions)
        {
            Complete(deletion);
        }

        Checkpoint();
        CheckpointHighWatermarks();
        if (!failures.IsEmpty)
        {
            throw new AggregateException("Some logs failed to close; the next start will recover them.", failures);
        }

        var epoch = BrokerEpoch;
        foreach (var directory in Directories)
        {
            CleanShutdownFile.Write(directory.Path, epoch);
        }
    }

    /// <summary><see cref="Close"/> on the thread pool (it is dominated by fsync).</summary>
    public Task CloseAsync() => Task.Run(Close);

    public void Dispose() => Close();

    public ValueTask DisposeAsync() => new(CloseAsync());

    private static (string ClusterId, LogDirectory[] Directories) PrepareDirectories(string[] paths, LogManagerOptions options)
    {
        var existing = new MetaProperties?[paths.Length];
        var clusterId = options.ClusterId;
        for (var i = 0; i < paths.Length; i++)
        {
            Directory.CreateDirectory(paths[i]);
            var file = Path.Combine(paths[i], LogFileNames.MetaProperties);
            if (!File.Exists(file))
            {
                continue;
            }

            var meta = MetaProperties.Parse(DurableFile.ReadAllText(file), file);
            if (meta.NodeId != options.NodeId)
            {
                throw new InvalidOperationException(
                    $"Log dir '{paths[i]}' belongs to node.id {meta.NodeId} (per its meta.properties), but this broker is node.id " +
                    $"{options.NodeId}. Point log.dirs at this node's own directories, or reformat the directory.");
            }

            if (clusterId is not null && meta.ClusterId != clusterId)
            {
                throw new InvalidOperationException(
                    $"Log dir '{paths[i]}' belongs to cluster.id {meta.ClusterId} (per its meta.properties), but this broker " +
                    $"expects cluster.id {clusterId}.");
            }

            clusterId = meta.ClusterId;
            existing[i] = meta;
        }

        clusterId ??= KafkaUuid.ToBase64Url(KafkaUuid.NewId(options.NewGuid));
        var directories = new LogDirectory[paths.Length];
        for (var i = 0; i < paths.Length; i++)
        {
            var meta = existing[i];
            if (meta is null || meta.DirectoryId == Guid.Empty)
            {
                meta = new MetaProperties(MetaProperties.CurrentVersion, options.NodeId, clusterId,
                    meta?.DirectoryId is { } id && id != Guid.Empty ? id : KafkaUuid.NewId(options.NewGuid));
                meta.Write(paths[i]);
            }

            for (var j = 0; j < i; j++)
            {
                if (directories[j].DirectoryId == meta.DirectoryId)
                {
                    throw new InvalidOperationException(
                        $"Log dirs '{directories[j].Path}' and '{paths[i]}' have the same directory.id; one is a copy of the other.");
                }
            }

            directories[i] = new LogDirectory(paths[i], meta.DirectoryId);
        }

        return (clusterId, directories);
    }

    private static int CompareEntries(CheckpointEntry a, CheckpointEntry b)
    {
        var byTopic = string.CompareOrdinal(a.Topic, b.Topic);
        return byTopic != 0 ? byTopic : a.Partition.CompareTo(b.Partition);
    }

    private void LoadDirectory(string logDir)
    {
        var started = _time.GetTimestamp();
        var clean = CleanShutdownFile.Exists(logDir, out var previousEpoch);
        if (clean && PreviousBrokerEpoch < 0)
        {
            PreviousBrokerEpoch = previousEpoch;
        }

        var recoveryPoints = ReadCheckpoint(Path.Combine(logDir, LogFileNames.RecoveryPointCheckpoint));
        var logStarts = ReadCheckpoint(Path.Combine(logDir, LogFileNames.LogStartOffsetCheckpoint));
        var highWatermarks = ReadCheckpoint(Path.Combine(logDir, LogFileNames.ReplicationOffsetCheckpoint));
        var loaded = 0;
        foreach (var path in Directory.EnumerateDirectories(logDir))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(LogFileNames.DeleteDirSuffix, StringComparison.Ordinal))
            {
                // A deletion that did not finish before the process stopped.
                Directory.Delete(path, recursive: true);
                StorageLog.DirectoryDeleted(_logger, path);
                continue;
            }

            if (name.EndsWith(LogFileNames.FutureDirSuffix, StringComparison.Ordinal)
                || name.EndsWith(LogFileNames.StrayDirSuffix, StringComparison.Ordinal))
            {
                StorageLog.DirectoryIgnored(_logger, path, "future/stray replicas are not supported yet");
                continue;
            }

            if (!LogFileNames.TryParsePartitionDir(name, out var topic, out var partition))
            {
                StorageLog.DirectoryIgnored(_logger, path, "not a <topic>-<partition> directory");
                continue;
            }

            if (_logs.TryGetValue((topic, partition), out var duplicate))
            {
                throw new InvalidOperationException(
                    $"Partition {name} exists in two log dirs: '{duplicate.DirectoryPath}' and '{path}'.");
            }

            var config = _options.TopicConfig?.Invoke(topic) ?? _options.DefaultConfig;
            var recoveryPoint = recoveryPoints.TryGetValue((topic, partition), out var rp) ? rp : 0;
            var logStart = logStarts.TryGetValue((topic, partition), out var ls) ? ls : -1;
            var log = PartitionLog.Open(path, topic, partition, config, clean, recoveryPoint, logStart, _time, _partitionLogger);
            if (highWatermarks.TryGetValue((topic, partition), out var highWatermark))
            {
                log.RestoreHighWatermark(highWatermark);
            }

            _logs[(topic, partition)] = log;
            _options.RecoveryProgress?.LogLoaded(log.SegmentCount);
            loaded++;
        }

        // The marker must be gone before the first append: a crash after appends must not be mistaken for clean.
        if (clean)
        {
            CleanShutdownFile.Delete(logDir);
        }

        StorageLog.LogDirLoaded(_logger, loaded, logDir, (long)_time.GetElapsedTime(started).TotalMilliseconds, clean);
    }

    private Dictionary<(string Topic, int Partition), long> ReadCheckpoint(string path)
    {
        if (OffsetCheckpointFile.TryRead(path, out var entries, out var error))
        {
            return entries;
        }

        // Without it every log is recovered from its start and log start offsets fall back to the first segment: safe.
        StorageLog.CheckpointIgnored(_logger, path, error ?? "malformed");
        return [];
    }

    private string LeastLoadedDirectory()
    {
        var best = Directories[0].Path;
        var bestCount = int.MaxValue;
        foreach (var directory in Directories)
        {
            var count = 0;
            foreach (var log in _logs.Values)
            {
                if (string.Equals(Path.GetDirectoryName(log.DirectoryPath), directory.Path, StringComparison.Ordinal))
                {
                    count++;
                }
            }

            if (count < bestCount)
            {
                best = directory.Path;
                bestCount = count;
            }
        }

        return best;
    }

    private void Complete(PendingDeletion deletion)
    {
        deletion.Log.Close(flush: false);
        if (Directory.Exists(deletion.Path))
        {
            Directory.Delete(deletion.Path, recursive: true);
        }

        StorageLog.DirectoryDeleted(_logger, deletion.Path);
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private sealed record PendingDeletion(PartitionLog Log, string Path, long DueMs);
}
