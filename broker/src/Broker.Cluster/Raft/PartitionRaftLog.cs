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
    private OffsetAndEpoch? _latestSnapshot;

    public PartitionRaftLog(PartitionLog log, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(time);
        _log = log;
        _time = time;
        // The bootstrap checkpoint at offset 0 (a dynamic quorum's voters) holds no metadata: not a snapshot of the log.
        var snapshots = SnapshotFiles.List(log.DirectoryPath).Where(id => id.Offset > 0).ToList();
        if (snapshots.Count > 0)
        {
            _latestSnapshot = snapshots[^1];
            if (log.LogEndOffset < _latestSnapshot.Value.Offset)
            {
                // A crash after a follower stored a fetched snapshot but before its log restarted there.
                log.TruncateFullyAndStartAt(_latestSnapshot.Value.Offset);
            }
        }
    }

    /// <summary>The metadata partition's log, created when missing. Never trimmed by retention: only snapshots move its start.</summary>
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
        _log.LeaderEpochs.LatestEpoch >= 0 ? _log.LeaderEpochs.LatestEpoch : _latestSnapshot?.Epoch ?? 0);

    /// <summary>The latest snapshot's end when there is one (segments below it may linger until they are deleted whole),
    /// as Kafka's log start is always a snapshot's end.</summary>
    public long StartOffset => Math.Max(_log.LogStartOffset, _latestSnapshot?.Offset ?? 0);

    public OffsetAndEpoch? LatestSnapshot => _latestSnapshot;

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
            return _latestSnapshot is { } snapshot ? new OffsetAndEpoch(snapshot.Offset, Math.Min(epoch, snapshot.Epoch)) : new OffsetAndEpoch(0, 0);
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
        if (_latestSnapshot is not { } latest || id.Offset >= latest.Offset)
        {
            _latestSnapshot = id;
        }

        var local = EndOffsetForEpoch(id.Epoch);
        if (id.Offset > _log.LogEndOffset || local.Epoch != id.Epoch || local.Offset < id.Offset)
        {
            // Kafka's truncateToLatestSnapshot: the log cannot continue from this snapshot, so it restarts at its end.
            _log.TruncateFullyAndStartAt(id.Offset);
        }
    }

    public void DeleteBeforeSnapshot()
    {
        if (_latestSnapshot is not { } latest)
        {
            return;
        }

        // Only whole segments below the snapshot go; the high watermark is at or past it, as the snapshot is committed.
        if (_log.HighWatermark < latest.Offset)
        {
            _log.HighWatermark = Math.Min(latest.Offset, _log.LogEndOffset);
        }

        _log.DeleteRecordsBefore(Math.Min(latest.Offset, _log.HighWatermark), NowMs);
        SnapshotFiles.DeleteBefore(_log.DirectoryPath, latest);
    }

    public void UpdateHighWatermark(long offset) => _log.HighWatermark = offset;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
