namespace Broker.Cluster.Replication;

/// <summary>This broker follows <paramref name="Partition"/>: fetch it from <paramref name="LeaderId"/> in <paramref name="LeaderEpoch"/>. Immutable.</summary>
public readonly record struct FollowerAssignment(Partition Partition, int LeaderId, int LeaderEpoch);

/// <summary>
/// What the <see cref="ReplicaManager"/> tells the follower side when images change roles (Kafka's
/// ReplicaFetcherManager.addFetcherForPartitions / removeFetcherForPartitions). Implementations are thread-safe.
/// </summary>
public interface IFollowerFetching
{
    /// <summary>Start (or restart, for a new leader or epoch) fetching these partitions from their leaders.</summary>
    void Follow(IReadOnlyList<FollowerAssignment> assignments);

    /// <summary>Stop fetching these partitions (they lead now, lost their leader, or are being deleted). Returns once no
    /// fetcher will append to them any more.</summary>
    void Unfollow(IReadOnlyList<Partition> partitions);
}
