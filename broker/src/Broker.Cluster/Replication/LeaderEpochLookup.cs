using Broker.Storage;

namespace Broker.Cluster.Replication;

/// <summary>
/// Kafka's leader-epoch end-offset lookup for OffsetForLeaderEpoch: the partition's leader-epoch cache
/// (<see cref="PartitionLog.LeaderEpochs"/>, persisted in leader-epoch-checkpoint) answers, and an epoch above the
/// partition's current one is unknown. Stateless; thread-safe.
/// </summary>
public static class LeaderEpochLookup
{
    /// <summary>Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET.</summary>
    public const int UndefinedEpoch = LeaderEpochCache.UndefinedEpoch;
    public const long UndefinedOffset = LeaderEpochCache.UndefinedOffset;

    /// <summary>
    /// The largest epoch ≤ <paramref name="requestedEpoch"/> the log knows and the offset where it ends: the log end for
    /// the latest epoch, the first offset of the next higher epoch otherwise, (-1, -1) above the current epoch.
    /// </summary>
    public static (int Epoch, long EndOffset) EndOffsetFor(PartitionLog log, int currentEpoch, int requestedEpoch) =>
        requestedEpoch == UndefinedEpoch || requestedEpoch > currentEpoch
            ? (UndefinedEpoch, UndefinedOffset)
            : log.EndOffsetForEpoch(requestedEpoch);
}
