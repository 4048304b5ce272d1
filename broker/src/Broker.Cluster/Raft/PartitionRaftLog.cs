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

    public PartitionRaftLog(PartitionLog log, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(time);
        _log = log;
        _time = time;
    }

    /// <summary>The metadata partition's log, created when missing. Never trimmed by retention (snapshots are not built yet).</summary>
    public static PartitionRaftLog Open(LogManager logs, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(logs);
        var log = logs.GetOrCreateLog(LocalMetadataLog.TopicName, 0, LocalMetadataLog.TopicId,
            LogConfig.Default with { RetentionMs = -1, RetentionBytes = -1 });
        return new PartitionRaftLog(log, time);
    }

    /// <summary>The directory holding the partition, where <c>quorum-state</c> lives too.</summary>
    public string DirectoryPath => _log.DirectoryPath;

    public OffsetAndEpoch EndOffset => new(_log.LogEndOffset, Math.Max(0, _log.LeaderEpochs.LatestEpoch));

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
            return new OffsetAndEpoch(0, 0);
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

    public void UpdateHighWatermark(long offset) => _log.HighWatermark = offset;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
