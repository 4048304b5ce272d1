using Broker.Protocol.Messages;

namespace Broker.Cluster.Replication;

/// <summary>
/// Where a follower fetches one partition from: the leader and its epoch (from the metadata image) and the next offset to
/// ask for, plus the reusable request entry. A new leader or epoch replaces the state object, so a response to a
/// request built from an older state is recognised and dropped. Owned by its fetcher, used under the fetcher's lock.
/// </summary>
public sealed class FollowerFetchState
{
    public FollowerFetchState(Partition partition, int leaderId, int leaderEpoch)
    {
        ArgumentNullException.ThrowIfNull(partition);
        Partition = partition;
        LeaderId = leaderId;
        LeaderEpoch = leaderEpoch;

        // With last_fetched_epoch the leader tells a diverged follower where to cut: start at the log end (KIP-595/KIP-405).
        FetchOffset = partition.Log.LogEndOffset;
    }

    public Partition Partition { get; }

    public int LeaderId { get; }

    public int LeaderEpoch { get; }

    /// <summary>The next offset to fetch: the log end, except after falling behind the leader's log start.</summary>
    public long FetchOffset { get; set; }

    /// <summary>No fetch before this time (milliseconds since the epoch), after an error (replica.fetch.backoff.ms).</summary>
    public long DelayedUntilMs { get; set; }

    /// <summary>
    /// The leader's high watermark minus the next fetch offset after the last good answer (Kafka's fetch state lag), -1
    /// before the first one or after a truncation. At 0 the replica counts as in sync for the replication throttle.
    /// </summary>
    public long Lag { get; set; } = -1;

    /// <summary>True from building a request with this partition until its response (or failure) is processed.</summary>
    internal bool InFlight { get; set; }

    /// <summary>The request entry, refilled for every fetch.</summary>
    internal FetchRequest.FetchPartition Request { get; } = new();
}
