using Broker.Cluster.Replication;

namespace Broker.Cluster.Tests.Replication;

/// <summary>The leader's replica tracking: Kafka's high-watermark, ISR shrink / expand and acks=all rules.</summary>
public sealed class ReplicaSetTests
{
    private const long Lag = 30_000;

    private static ReplicaSet ThreeReplicas(int minIsr = 2, int[]? isr = null, long epochStart = 0, long nowMs = 0) =>
        new(1, [1, 2, 3], isr ?? [1, 2, 3], leaderEpoch: 5, partitionEpoch: 9, epochStart, new ReplicaSetOptions(Lag, minIsr), nowMs);

    [Fact]
    public void HighWatermark_IsTheSmallestLogEndInTheIsr_OnceEveryMemberFetched()
    {
        var set = ThreeReplicas();

        Assert.Null(set.HighWatermark(100)); // followers have not fetched yet
        set.OnFollowerFetch(2, 80, 0, 1, 100, 0, 10);
        Assert.Null(set.HighWatermark(100));
        set.OnFollowerFetch(3, 60, 0, 1, 100, 0, 10);

        Assert.Equal(60, set.HighWatermark(100));
        set.OnFollowerFetch(3, 100, 0, 1, 100, 60, 20);
        Assert.Equal(80, set.HighWatermark(100));
    }

    [Fact]
    public void HighWatermark_StopsWhileTheIsrIsBelowMinInsyncReplicas()
    {
        var set = ThreeReplicas(minIsr: 2, isr: [1]);

        Assert.Null(set.HighWatermark(100));
        Assert.False(set.HasEnoughReplicasForAcksAll());

        var single = new ReplicaSet(1, [1], [1], 0, 0, 0, new ReplicaSetOptions(Lag, 2), 0);
        Assert.Equal(1, single.EffectiveMinIsr); // min(min.insync.replicas, replica count)
        Assert.Equal(100, single.HighWatermark(100));
        Assert.True(single.HasEnoughReplicasForAcksAll());
    }

    [Fact]
    public void CheckShrink_FollowerNotCaughtUpForTheLagTime_Removed_LeaderNever()
    {
        var set = ThreeReplicas(nowMs: 0);
        set.OnFollowerFetch(2, 100, 0, 1, 100, 0, 1_000); // caught up at 1 s
        set.OnFollowerFetch(3, 50, 0, 1, 100, 0, 1_000); // behind; caught up only at leadership start (0)

        Assert.Null(set.CheckShrink(100, Lag)); // exactly the lag: still in sync
        var shrink = set.CheckShrink(120, Lag + 1);

        Assert.NotNull(shrink);
        Assert.Equal([1, 2], shrink.NewIsr);
        Assert.Equal(5, shrink.LeaderEpoch);
        Assert.Equal(9, shrink.PartitionEpoch);

        // Only one proposal in flight; meanwhile the current ISR still counts for the high watermark.
        Assert.Null(set.CheckShrink(120, Lag + 2));
        Assert.Equal([1, 2, 3], set.MaximalIsr);
        Assert.Equal(50, set.HighWatermark(120));

        set.OnPartitionChanged([1, 2, 3], [1, 2], 10);
        Assert.Equal([1, 2], set.Isr);
        Assert.Equal(100, set.HighWatermark(120));
    }

    [Fact]
    public void LastCaughtUp_FetchAtThePreviousLeaderEnd_CountsThePreviousFetchTime()
    {
        var set = ThreeReplicas();
        set.OnFollowerFetch(2, 90, 0, 1, 100, 0, 1_000); // behind
        set.OnFollowerFetch(2, 100, 0, 1, 150, 0, 2_000); // reached the leader end seen at the previous fetch

        Assert.Equal(1_000, set.Follower(2).LastCaughtUpTimeMs);
        set.OnFollowerFetch(2, 150, 0, 1, 150, 0, 3_000);
        Assert.Equal(3_000, set.Follower(2).LastCaughtUpTimeMs);
    }

    [Fact]
    public void OnFollowerFetch_CaughtUpButNotIsrEligible_TrackedWithoutProposingUntilEligible()
    {
        var set = ThreeReplicas(isr: [1, 2]);
        set.OnFollowerFetch(2, 100, 0, 1, 100, 0, 10);

        // Fenced or shutting down (KIP-841): the controller would refuse INELIGIBLE_REPLICA, so nothing is asked.
        Assert.Null(set.OnFollowerFetch(3, 100, 0, 1, 100, 100, 20, isrEligible: false));
        Assert.Null(set.Pending);
        Assert.Equal(100, set.Follower(3).LogEndOffset);

        var expand = set.OnFollowerFetch(3, 100, 0, 1, 100, 100, 30, isrEligible: true);
        Assert.Equal([1, 2, 3], expand?.NewIsr);
    }

    [Fact]
    public void OnFollowerFetch_OutOfIsrFollowerAtTheHighWatermarkAndEpochStart_ProposesExpansion()
    {
        var set = ThreeReplicas(isr: [1, 2], epochStart: 40);
        set.OnFollowerFetch(2, 100, 0, 1, 100, 0, 10);

        Assert.Null(set.OnFollowerFetch(3, 30, 0, 1, 100, 30, 20)); // below the epoch start
        Assert.Null(set.OnFollowerFetch(3, 90, 0, 1, 100, 95, 30)); // below the high watermark
        var expand = set.OnFollowerFetch(3, 95, 0, 1, 100, 95, 40);

        Assert.NotNull(expand);
        Assert.Equal([1, 2, 3], expand.NewIsr);

        // The pending addition already counts (maximal ISR), so the high watermark waits for the new member.
        Assert.Equal([1, 2, 3], set.MaximalIsr);
        Assert.Equal(95, set.HighWatermark(100));

        set.OnIsrChangeFailed();
        Assert.Equal([1, 2], set.MaximalIsr);
        Assert.Equal(100, set.HighWatermark(100));
    }

    [Fact]
    public void OnPartitionChanged_OlderPartitionEpoch_Ignored()
    {
        var set = ThreeReplicas();

        set.OnPartitionChanged([1, 2, 3, 4], [1], 8);

        Assert.Equal([1, 2, 3], set.Isr);
        Assert.Equal(9, set.PartitionEpoch);
        Assert.False(set.IsReplica(4));
    }

    [Fact]
    public void OnPartitionChanged_ReassignmentAddsReplicaInTheSameLeaderEpoch_ItsFetchesCountAndItJoinsTheIsr()
    {
        var set = ThreeReplicas();
        set.OnFollowerFetch(2, 100, 0, 1, 100, 0, 10);
        set.OnFollowerFetch(3, 100, 0, 1, 100, 0, 10);

        // The controller's first reassignment step: replicas = target + removing, the ISR unchanged, same leader epoch.
        set.OnPartitionChanged([4, 1, 2, 3], [1, 2, 3], 10);

        Assert.True(set.IsReplica(4));
        Assert.Equal([4, 1, 2, 3], set.AssignedReplicas);
        Assert.Null(set.OnFollowerFetch(4, 50, 0, 1, 100, 100, 20)); // behind: not yet in sync
        var change = set.OnFollowerFetch(4, 100, 0, 1, 100, 100, 30);
        Assert.NotNull(change);
        Assert.Equal([1, 2, 3, 4], change.NewIsr);
        Assert.Equal(10, change.PartitionEpoch);
    }

    [Fact]
    public void OnPartitionChanged_ReassignmentRemovesReplica_ItNoLongerCountsOrFetches()
    {
        var set = ThreeReplicas();

        set.OnPartitionChanged([1, 2], [1, 2], 10);

        Assert.False(set.IsReplica(3));
        Assert.Equal([1, 2], set.AssignedReplicas);
        Assert.Equal(2, set.EffectiveMinIsr);
        Assert.Null(set.OnFollowerFetch(3, 100, 0, 1, 100, 0, 10)); // a fetch that raced the change is ignored
    }

    [Fact]
    public void OnPartitionChanged_SamePartitionEpochReapplied_KeepsThePendingExpansion()
    {
        var set = ThreeReplicas(isr: [1, 2]);
        set.OnFollowerFetch(2, 100, 0, 1, 100, 0, 10);
        var expansion = set.OnFollowerFetch(3, 100, 0, 1, 100, 100, 10);
        Assert.NotNull(expansion);

        // Another record changed the image; this partition is re-applied unchanged.
        set.OnPartitionChanged([1, 2, 3], [1, 2], 9);

        Assert.Same(expansion, set.Pending);
        Assert.Equal([1, 2, 3], set.MaximalIsr); // node 3 still holds the high watermark until the controller answers
        Assert.Null(set.OnFollowerFetch(3, 100, 0, 1, 100, 100, 20)); // and no second proposal goes out
    }
}
