using Broker.Storage;

namespace Broker.Cluster.Replication;

/// <summary>Where a follower cuts its log, and whether that settles the divergence. Immutable.</summary>
/// <param name="Offset">The offset to truncate to (the new log end).</param>
/// <param name="Complete">False when the follower must ask again (its epoch for the offset differs from the leader's).</param>
public readonly record struct TruncationPoint(long Offset, bool Complete);

/// <summary>
/// A follower's answer to a leader's diverging epoch (Fetch's DivergingEpoch, or OffsetForLeaderEpoch): Kafka's
/// AbstractFetcherThread.getOffsetTruncationState. Stateless; thread-safe.
/// </summary>
public static class FollowerTruncation
{
    /// <param name="leaderEpoch">The epoch the leader answered for (the largest it knows at most the one asked).</param>
    /// <param name="leaderEndOffset">Where that epoch ends on the leader.</param>
    /// <param name="local">The follower's own epoch cache.</param>
    /// <param name="localEndOffset">The follower's log end offset.</param>
    /// <param name="highWatermark">The follower's high watermark: the fallback when the leader knows nothing.</param>
    public static TruncationPoint Compute(int leaderEpoch, long leaderEndOffset, LeaderEpochCache local, long localEndOffset, long highWatermark)
    {
        ArgumentNullException.ThrowIfNull(local);
        if (leaderEndOffset == LeaderEpochCache.UndefinedOffset)
        {
            // The leader has no epoch at or below ours: only what was committed is safe.
            return new TruncationPoint(Math.Min(highWatermark, localEndOffset), true);
        }

        if (leaderEpoch == LeaderEpochCache.UndefinedEpoch)
        {
            return new TruncationPoint(Math.Min(leaderEndOffset, localEndOffset), true);
        }

        var (localEpoch, localEpochEnd) = local.EndOffsetFor(leaderEpoch, localEndOffset);
        if (localEpochEnd == LeaderEpochCache.UndefinedOffset)
        {
            return new TruncationPoint(Math.Min(leaderEndOffset, localEndOffset), true);
        }

        if (localEpoch != leaderEpoch)
        {
            // The follower never saw the leader's epoch: cut to where its own, older epoch ends and ask again from there.
            return new TruncationPoint(Math.Min(localEpochEnd, localEndOffset), false);
        }

        return new TruncationPoint(Math.Min(leaderEndOffset, localEpochEnd), true);
    }
}
