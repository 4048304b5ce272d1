using System.Runtime.InteropServices;
using Broker.Cluster.Metadata;
using Broker.Storage;

namespace Broker.Cluster.Raft;

/// <summary>
/// <see cref="IRaftLog"/> over the broker's segment storage: the partition <c>__cluster_metadata-0</c> in the metadata
/// log dir, with Kafka's segment, index and <c>leader-epoch-checkpoint</c> files. The leader-epoch cache of the
/// partition answers <see cref="EndOffsetForEpoch"/>.
/// </summary>
/// <remarks>Owned by one <see cref="RaftReplica"/>; not thread-safe (the underlying log is, but the Raft core is the only writer).</remarks>
public sealed class PartitionRaftLog : IRaftLog
{
    private readonly PartitionLog _log;
    private readonly TimeProvider _time;
    // Oldest first; the bootstrap checkpoint at offset 0 (a dynamic quorum's voters) is not among them.
    private readonly List<OffsetAndEpoch> _snapshots;
    private readonly Dictionary<OffsetAndEpoch, long?> _timestamps = [];

    public PartitionRaftLog(PartitionLog log, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(time);
        _log = log;
        _time = time;
        // The bootstrap checkpoint at offset 0 (a dynamic quorum's voters) holds no metadata: not a snapshot of the log.
        _snapshots = SnapshotFiles.List(log.DirectoryPath).Where(id => id.Offset > 0).ToList();
        if (_snapshots.Count > 0)
        {
            var latest = _snapshots[^1];
            if (log.LogEndOffset < latest.Offset)
            {
                // A crash after a follower stored a fetched snapshot but before its log restarted there.
                log.TruncateFullyAndStartAt(latest.Offset);
            }

            // Kafka's recoverSnapshots: a snapshot below the log start is no longer needed (a crash between moving the
            // start and deleting it). The latest always stays: the log start never passes it.
            var stale = _snapshots.FindIndex(id => id.Offset >= log.LogStartOffset);
            if (stale > 0)
            {
                SnapshotFiles.DeleteBefore(log.DirectoryPath, _snapshots[stale]);
                _snapshots.RemoveRange(0, stale);
            }
        }
    }

    /// <summary>The metadata partition's log, created when missing. Never trimmed by the partition retention: only
    /// <see cref="DeleteBeforeSnapshot"/> moves its start (<see cref="SnapshotRetention"/>).</summary>
    /// <param name="segmentBytes"><c>metadata.log.segment.bytes</c>; Kafka's 1 GiB when null.</param>
    public static PartitionRaftLog Open(LogManager logs, TimeProvider time, int? segmentBytes = null)
    {
        ArgumentNullException.ThrowIfNull(logs);
        var config = LogConfig.Default with { RetentionMs = -1, RetentionBytes = -1 };
        var log = logs.GetOrCreateLog(MetadataTopic.TopicName, 0, MetadataTopic.TopicId,
            segmentBytes is { } bytes ? config with { SegmentBytes = bytes } : config);
        return new PartitionRaftLog(log, time);
    }

    /// <summary>The directory holding the partition, where <c>quorum-state</c> lives too.</summary>
    public string DirectoryPath => _log.DirectoryPath;

    public OffsetAndEpoch EndOffset => new(_log.LogEndOffset,
        _log.LeaderEpochs.LatestEpoch >= 0 ? _log.LeaderEpochs.LatestEpoch : LatestSnapshot?.Epoch ?? 0);

    /// <summary>The partition's log start offset: exact once <see cref="DeleteBeforeSnapshot"/> moved it (segments below
    /// it may linger until they are wholly below); after a crash that lost the log-start-offset checkpoint it may come
    /// back lower, where the log still holds every record.</summary>
    public long StartOffset => _log.LogStartOffset;

    public OffsetAndEpoch? LatestSnapshot => _snapshots.Count > 0 ? _snapshots[^1] : null;

    public IReadOnlyList<OffsetAndEpoch> Snapshots => _snapshots;

    public long SizeInBytes => _log.SizeInBytes;

    public long SnapshotSizeInBytes(OffsetAndEpoch id) => SnapshotFiles.Size(_log.DirectoryPath, id);

    public long? SnapshotTimestamp(OffsetAndEpoch id)
    {
        // Snapshot files never change once written: their header is read once.
        if (!_timestamps.TryGetValue(id, out var timestamp))
        {
            timestamp = SnapshotFiles.ReadLastContainedTimestamp(_log.DirectoryPath, id);
            _timestamps[id] = timestamp;
        }

        return timestamp;
    }

    public long FlushedOffset => _log.RecoveryPoint;

    public long AppendAsLeader(Memory<byte> batches, int epoch) =>
        _log.Append(batches, epoch, NowMs, logAppendTime: false).LastOffset + 1;

    public long AppendAsFollower(ReadOnlyMemory<byte> batches) =>
        _log.AppendAsFollower(MemoryMarshal.AsMemory(batches), NowMs).LastOffset + 1;

    public long TruncateTo(long offset) => _log.TruncateTo(offset);

    public OffsetAndEpoch EndOffsetForEpoch(int epoch)
    {
        var entries = _log.LeaderEpochs.Entries;
        if (entries.Count == 0)
        {
            return LatestSnapshot is { } snapshot ? new OffsetAndEpoch(snapshot.Offset, Math.Min(epoch, snapshot.Epoch)) : new OffsetAndEpoch(0, 0);
        }

        var (foundEpoch, endOffset) = _log.EndOffsetForEpoch(epoch);
        if (endOffset == LeaderEpochCache.UndefinedOffset)
        {
            // Kafka's cache knows nothing above its latest epoch; for Raft the latest epoch simply runs to the log end.
            return new OffsetAndEpoch(_log.LogEndOffset, entries[^1].Epoch);
        }

        return new OffsetAndEpoch(endOffset, foundEpoch);
    }

    public ReadOnlyMemory<byte> Read(long offset, int maxBytes)
    {
        var read = _log.Read(offset, maxBytes, _log.LogEndOffset, minOneBatch: true);
        if (read.IsEmpty)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        // Fetch responses outlive this call, so the bytes are copied out of the segment.
        var bytes = new byte[read.Length];
        read.CopyTo(bytes);
        return bytes;
    }

    public void Flush() => _log.Flush();

    public ReadOnlyMemory<byte> ReadSnapshot(OffsetAndEpoch id) => SnapshotFiles.Read(_log.DirectoryPath, id);

    public void StoreSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> content)
    {
        SnapshotFiles.Write(_log.DirectoryPath, id, content);
        var index = _snapshots.BinarySearch(id, Comparer<OffsetAndEpoch>.Create(CompareIds));
        if (index < 0)
        {
            _snapshots.Insert(~index, id);
        }

        var local = EndOffsetForEpoch(id.Epoch);
        if (id == LatestSnapshot && (id.Offset > _log.LogEndOffset || local.Epoch != id.Epoch || local.Offset < id.Offset))
        {
            // Kafka's truncateToLatestSnapshot: the log cannot continue from this snapshot, so it restarts at its end and
            // the snapshots before it, which the log no longer follows, go.
            _log.TruncateFullyAndStartAt(id.Offset);
            ForgetBefore(id);
        }
    }

    public bool DeleteBeforeSnapshot(OffsetAndEpoch id)
    {
        if (!_snapshots.Contains(id) || id.Offset <= _log.LogStartOffset || id.Offset > _log.HighWatermark)
        {
            return false;
        }

        // Only whole segments below the new start go; the start itself is exact.
        _log.DeleteRecordsBefore(id.Offset, NowMs);
        ForgetBefore(id);
        return true;
    }

    private void ForgetBefore(OffsetAndEpoch id)
    {
        var index = _snapshots.IndexOf(id);
        if (index > 0)
        {
            foreach (var old in _snapshots.GetRange(0, index))
            {
                _timestamps.Remove(old);
            }

            _snapshots.RemoveRange(0, index);
        }

        SnapshotFiles.DeleteBefore(_log.DirectoryPath, id);
    }

    private static int CompareIds(OffsetAndEpoch a, OffsetAndEpoch b) =>
        a.Offset != b.Offset ? a.Offset.CompareTo(b.Offset) : a.Epoch.CompareTo(b.Epoch);

    public void UpdateHighWatermark(long offset) => _log.HighWatermark = offset;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
