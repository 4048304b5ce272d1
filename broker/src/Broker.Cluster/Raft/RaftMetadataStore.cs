using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Cluster.Raft;

/// <summary>
/// <see cref="IMetadataStore"/> over a <see cref="RaftReplica"/>: commits are Raft appends, and the image is built from
/// the committed batches the replica delivers (control batches skipped), replayed from the start of the log at every
/// open (a log written before Raft, epoch 0 batches without control records, replays the same way). With a single voter
/// it needs nothing else (the replica leads at once and commits synchronously): that is every node without
/// <c>controller.quorum.voters</c>; with several
/// voters a network binding feeds <see cref="Handle"/>, calls <see cref="Poll"/> by the returned deadline and ships
/// what the <c>send</c> callback receives.
/// </summary>
/// <remarks>
/// Thread-safe: every call into the replica holds one lock, and messages are handed to <c>send</c> after it is
/// released, so a transport may call back into <see cref="Handle"/> from its own threads. <see cref="ImageChanged"/> runs
/// under the lock, in commit order, and must not commit synchronously (the replica is not re-entrant); commit tasks
/// complete asynchronously.
/// </remarks>
public sealed partial class RaftMetadataStore : IMetadataStore, IRaftListener
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Action<RaftMessage>? _send;
    private readonly ILogger _logger;
    private readonly List<(long LastOffset, TaskCompletionSource<MetadataImage> Completion)> _pending = [];
    private readonly List<RaftMessage> _outbox = [];
    private readonly MetadataSnapshotPolicy _snapshotPolicy;
    private RaftReplica _replica = null!;
    private MetadataImage _image;
    private long _committedEnd;
    private long _bytesSinceSnapshot;
    private long _lastSnapshotMs;
    private long _lastCommittedTimestampMs = -1;

    private RaftMetadataStore(MetadataImage initial, TimeProvider time, Action<RaftMessage>? send, ILogger logger, MetadataSnapshotPolicy policy)
    {
        _image = initial;
        _time = time;
        _send = send;
        _logger = logger;
        _snapshotPolicy = policy;
        _lastSnapshotMs = NowMs;
    }

    public MetadataImage Image => Volatile.Read(ref _image);

    public event Action<MetadataImage>? ImageChanged;

    /// <summary>
    /// Opens the metadata partition (<c>__cluster_metadata-0</c>) and its quorum-state, starts the replica and replays what
    /// is committed. A lone voter has elected itself and replayed the whole log when this returns.
    /// </summary>
    /// <param name="send">Receives messages for other nodes; null when there are none (a single voter).</param>
    /// <param name="snapshots">When to snapshot the image; Kafka's defaults when null.</param>
    public static RaftMetadataStore Open(LogManager logs, int nodeId, QuorumConfig config, TimeProvider time,
        Action<RaftMessage>? send, ILogger<RaftMetadataStore> logger, Random? random = null, MetadataSnapshotPolicy? snapshots = null)
    {
        ArgumentNullException.ThrowIfNull(logs);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        snapshots ??= MetadataSnapshotPolicy.Default;
        var log = PartitionRaftLog.Open(logs, time, snapshots.LogSegmentBytes);
        var store = new RaftMetadataStore(MetadataImage.Empty(logs.ClusterId, nodeId), time, send, logger, snapshots);
        // The directory id of the log dir holding the metadata partition: with the node id, a dynamic quorum's voter key.
        var metadataDir = Path.GetFullPath(Path.GetDirectoryName(log.DirectoryPath)!);
        var directoryId = logs.Directories.FirstOrDefault(d => Path.GetFullPath(d.Path).TrimEnd(Path.DirectorySeparatorChar) == metadataDir.TrimEnd(Path.DirectorySeparatorChar))
            ?.DirectoryId ?? Guid.Empty;
        var replica = new RaftReplica(nodeId, config, log, new FileQuorumStateStore(log.DirectoryPath, config.VoterIds),
            random ?? new Random(), store, directoryId);
        lock (store._lock)
        {
            store._replica = replica;
            replica.Start(store.NowMs);
            store.MaybeSnapshot();
            store.CollectOutbound();
        }

        store.Flush();
        LogOpened(logger, replica.Role.ToString(), replica.Epoch, replica.LeaderId, store.Image.Offset + 1);
        return store;
    }

    /// <summary>The replica's role, epoch and leader (a snapshot; they change as the quorum moves).</summary>
    public (RaftRole Role, int Epoch, int LeaderId) State
    {
        get
        {
            lock (_lock)
            {
                return (_replica.Role, _replica.Epoch, _replica.LeaderId);
            }
        }
    }

    /// <summary>kraft.version as this replica's log has it, uncommitted records included (Kafka's
    /// <c>KafkaRaftClient.kraftVersion</c>): 0 for a static quorum, 1 for a dynamic one.</summary>
    public short KRaftVersion
    {
        get
        {
            lock (_lock)
            {
                return _replica.KRaftVersion;
            }
        }
    }

    /// <summary>While this node leads: when (unix ms) a majority of voters was last in contact; else -1.</summary>
    public long MajorityContactMs
    {
        get
        {
            lock (_lock)
            {
                return _replica.LeaderMajorityContactMs;
            }
        }
    }

    /// <summary>
    /// Appends the records as one batch and completes once it is committed and applied. Throws
    /// <see cref="NotLeaderException"/> when this node does not lead the quorum (NOT_CONTROLLER for a caller).
    /// </summary>
    public ValueTask<MetadataImage> CommitAsync(IReadOnlyList<IApiMessage> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        cancellationToken.ThrowIfCancellationRequested();
        if (records.Count == 0)
        {
            return ValueTask.FromResult(Image);
        }

        var values = new byte[records.Count][];
        using (var writer = new KafkaWriter(256))
        {
            for (var i = 0; i < records.Count; i++)
            {
                writer.Reset();
                MetadataRecordSerde.Write(writer, records[i]);
                values[i] = writer.WrittenSpan.ToArray();
            }
        }

        TaskCompletionSource<MetadataImage>? completion = null;
        MetadataImage? done = null;
        lock (_lock)
        {
            if (!_replica.TryAppend(values, NowMs, out var lastOffset))
            {
                throw new NotLeaderException(_replica.LeaderId, _replica.Epoch);
            }

            if (_committedEnd > lastOffset)
            {
                done = _image;
            }
            else
            {
                completion = new TaskCompletionSource<MetadataImage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending.Add((lastOffset, completion));
            }

            MaybeSnapshot();
            CollectOutbound();
        }

        Flush();
        return done is not null ? ValueTask.FromResult(done) : new ValueTask<MetadataImage>(completion!.Task);
    }

    /// <summary>An inbound Raft request or response from the network binding.</summary>
    public void Handle(in RaftMessage message)
    {
        lock (_lock)
        {
            _replica.Handle(message, NowMs);
            MaybeSnapshot();
            CollectOutbound();
        }

        Flush();
    }

    /// <summary>Fires the replica's timers; returns the time (Unix ms) by which it must be called again.</summary>
    public long Poll()
    {
        long next;
        lock (_lock)
        {
            next = _replica.Poll(NowMs);
            MaybeSnapshot();
            CollectOutbound();
        }

        Flush();
        return next;
    }

    /// <summary>
    /// Graceful shutdown of a leader: EndQuorumEpoch to the other voters so they elect a successor at once rather than
    /// after the fetch timeout. False (and nothing sent) when this node does not lead.
    /// </summary>
    public bool Resign()
    {
        bool resigned;
        lock (_lock)
        {
            resigned = _replica.Resign(NowMs);
            CollectOutbound();
        }

        Flush();
        return resigned;
    }

    /// <summary>The controller endpoint of voter <paramref name="id"/> in the voter set in force, or null.</summary>
    public VoterEndpoint? VoterEndpoint(int id)
    {
        lock (_lock)
        {
            return _replica.VoterEndpoint(id);
        }
    }

    /// <summary>The voter set in force and this replica's directory id (a snapshot; voters change as the log does).</summary>
    public (VoterSet Voters, Guid DirectoryId, short KRaftVersion) Voters
    {
        get
        {
            lock (_lock)
            {
                return (_replica.Voters, _replica.DirectoryId, _replica.KRaftVersion);
            }
        }
    }

    /// <summary>DescribeQuorum for this node (an error unless it leads).</summary>
    public DescribeQuorumResponse DescribeQuorum()
    {
        lock (_lock)
        {
            return _replica.DescribeQuorum();
        }
    }

    /// <summary>The latest snapshot and the log start (a snapshot; they move as snapshots are taken or fetched).</summary>
    public (OffsetAndEpoch? LatestSnapshot, long LogStartOffset) Snapshots
    {
        get
        {
            lock (_lock)
            {
                return (_replica.LatestSnapshot, _replica.LogStartOffset);
            }
        }
    }

    void IRaftListener.OnSnapshot(OffsetAndEpoch id, ReadOnlyMemory<byte> content)
    {
        var image = MetadataSnapshot.Read(content, _image.ClusterId, _image.ControllerId, id.Offset, "metadata snapshot " + SnapshotFiles.FileName(id));
        _committedEnd = id.Offset;
        _bytesSinceSnapshot = 0;
        _lastCommittedTimestampMs = SnapshotFiles.ReadLastContainedTimestamp(content) ?? _lastCommittedTimestampMs;
        Volatile.Write(ref _image, image);
        ImageChanged?.Invoke(image);
        CompletePending();
        if (_logger.IsEnabled(LogLevel.Information))
        {
            LogSnapshotLoaded(_logger, id.Offset, id.Epoch, image.TopicsById.Count, image.Brokers.Count);
        }
    }

    void IRaftListener.OnCommitted(in RecordBatch batch)
    {
        _committedEnd = batch.NextOffset;
        _bytesSinceSnapshot += batch.Memory.Length;
        _lastCommittedTimestampMs = Math.Max(_lastCommittedTimestampMs, batch.MaxTimestamp);
        if (!batch.IsControl)
        {
            // LEADER_CHANGE and other control batches carry no metadata record.
            var builder = new MetadataImageBuilder(_image);
            using var reader = new RecordBatchReader(batch.Memory);
            while (reader.TryReadBatch(out var read))
            {
                foreach (var record in reader.ReadRecords(read))
                {
                    if (MetadataRecordSerde.Read(record.Value) is { } message)
                    {
                        builder.Apply(message, record.Offset);
                    }
                }
            }

            var next = builder.Build();
            Volatile.Write(ref _image, next);
            ImageChanged?.Invoke(next);
        }

        CompletePending();
    }

    private void CompletePending()
    {
        for (var i = _pending.Count - 1; i >= 0; i--)
        {
            if (_pending[i].LastOffset < _committedEnd)
            {
                _pending[i].Completion.TrySetResult(_image);
                _pending.RemoveAt(i);
            }
        }
    }

    void IRaftListener.OnLeaderChange(int leaderId, int epoch)
    {
        // Appends of an earlier leadership may never commit; callers learn it instead of waiting forever. A commit that
        // did make it is still applied to the image when the new leader's high watermark passes it.
        foreach (var (_, completion) in _pending)
        {
            completion.TrySetException(new NotLeaderException(leaderId, epoch));
        }

        _pending.Clear();
        if (_logger.IsEnabled(LogLevel.Information))
        {
            LogLeaderChange(_logger, leaderId, epoch);
        }
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Kafka's snapshot generator: once the committed batches since the last snapshot pass
    /// <c>metadata.log.max.record.bytes.between.snapshots</c>, or <c>metadata.log.max.snapshot.interval.ms</c> has passed
    /// with anything new, the image is written as a snapshot at the delivered end and the log may drop what it covers.
    /// Every node does this for itself (the image is the same everywhere). Called under the lock, after a replica call.
    /// </summary>
    private void MaybeSnapshot()
    {
        var now = NowMs;
        if (_bytesSinceSnapshot == 0
            || (_bytesSinceSnapshot < _snapshotPolicy.MaxBytesBetweenSnapshots && (_snapshotPolicy.MaxIntervalMs <= 0 || now - _lastSnapshotMs < _snapshotPolicy.MaxIntervalMs)))
        {
            return;
        }

        var id = _replica.DeliveredEnd;
        // Kafka's LastContainedLogTimestamp: the append time of the last record covered, what metadata.max.retention.ms
        // measures the snapshot's age from.
        var content = MetadataSnapshot.Write(_image, id.Epoch, _lastCommittedTimestampMs >= 0 ? _lastCommittedTimestampMs : now,
            _replica.VotersAt(id.Offset));
        if (_replica.TryCreateSnapshot(id, content))
        {
            LogSnapshotWritten(_logger, id.Offset, id.Epoch, content.Length, _bytesSinceSnapshot, _replica.LogStartOffset);
        }

        _bytesSinceSnapshot = 0;
        _lastSnapshotMs = now;
    }

    private void CollectOutbound()
    {
        while (_replica.TryDequeue(out var message))
        {
            if (_send is not null)
            {
                _outbox.Add(message);
            }
        }
    }

    private void Flush()
    {
        if (_send is null)
        {
            return;
        }

        RaftMessage[] messages;
        lock (_lock)
        {
            if (_outbox.Count == 0)
            {
                return;
            }

            messages = [.. _outbox];
            _outbox.Clear();
        }

        foreach (var message in messages)
        {
            _send(message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata quorum started: {Role} in epoch {Epoch}, leader {LeaderId}; replayed {Records} records")]
    private static partial void LogOpened(ILogger logger, string role, int epoch, int leaderId, long records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata snapshot written at offset {Offset} epoch {Epoch}: {Bytes} bytes, after {LogBytes} log bytes; log start now {LogStart}")]
    private static partial void LogSnapshotWritten(ILogger logger, long offset, int epoch, int bytes, long logBytes, long logStart);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata snapshot loaded at offset {Offset} epoch {Epoch}: {Topics} topics, {Brokers} brokers")]
    private static partial void LogSnapshotLoaded(ILogger logger, long offset, int epoch, int topics, int brokers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metadata quorum leader is now {LeaderId} in epoch {Epoch}")]
    private static partial void LogLeaderChange(ILogger logger, int leaderId, int epoch);
}

/// <summary>When a node snapshots its metadata image (Kafka's <c>metadata.log.max.*</c> keys and defaults). Immutable.</summary>
/// <param name="MaxBytesBetweenSnapshots"><c>metadata.log.max.record.bytes.between.snapshots</c>: committed log bytes that trigger a snapshot.</param>
/// <param name="MaxIntervalMs"><c>metadata.log.max.snapshot.interval.ms</c>: the longest time between snapshots while records arrive (0 = only by size).</param>
public sealed record MetadataSnapshotPolicy(long MaxBytesBetweenSnapshots, long MaxIntervalMs)
{
    public const string MaxBytesKey = "metadata.log.max.record.bytes.between.snapshots";
    public const string MaxIntervalKey = "metadata.log.max.snapshot.interval.ms";

    public const string LogSegmentBytesKey = "metadata.log.segment.bytes";

    public static MetadataSnapshotPolicy Default { get; } = new(20 * 1024 * 1024, 60 * 60 * 1000);

    /// <summary><c>metadata.log.segment.bytes</c>: the metadata log's segment size (Kafka's 1 GiB when null). Only whole
    /// segments below the latest snapshot are deleted, so smaller segments free space sooner.</summary>
    public int? LogSegmentBytes { get; init; }
}

/// <summary>A metadata commit was refused or abandoned because this node does not lead the quorum. Immutable.</summary>
public sealed class NotLeaderException : InvalidOperationException
{
    public NotLeaderException(int leaderId, int epoch)
        : base($"This node does not lead the metadata quorum (leader {leaderId}, epoch {epoch}).")
    {
        LeaderId = leaderId;
        Epoch = epoch;
    }

    public int LeaderId { get; }

    public int Epoch { get; }
}
