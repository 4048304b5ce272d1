using Broker.Cluster.Raft;

namespace Broker.Cluster.Tests.Raft;

/// <summary>The leader's high watermark and check-quorum bookkeeping, in isolation.</summary>
public sealed class LeaderStateTests
{
    private static readonly QuorumConfig Five = TestQuorums.Of(1, 2, 3, 4, 5);

    [Fact]
    public void UpdateReplica_MajorityOnlyHasEntriesOfOlderEpochs_DoesNotCommitThem()
    {
        // Leader 1 took epoch 4 with a log ending at 10 (older epochs' entries), its LEADER_CHANGE at offset 10.
        var leader = new LeaderState(Five, 1, epoch: 4, epochStartOffset: 10, highWatermark: 6, nowMs: 0);
        leader.UpdateLocal(11, 0);

        Assert.False(leader.UpdateReplica(2, 10, 11, 1));
        Assert.False(leader.UpdateReplica(3, 10, 11, 1));

        // Three of five hold offset 10 (below the epoch start): committing it could be undone (Raft's figure 8).
        Assert.Equal(6, leader.HighWatermark);
        Assert.False(leader.UpdateReplica(2, 11, 11, 2));
        Assert.Equal(6, leader.HighWatermark);
        Assert.True(leader.UpdateReplica(3, 11, 11, 2));
        Assert.Equal(11, leader.HighWatermark);
    }

    [Fact]
    public void UpdateReplica_Observer_NeverCountsTowardsTheHighWatermark()
    {
        var leader = new LeaderState(TestQuorums.Of(1, 2, 3), 1, epoch: 1, epochStartOffset: 0, highWatermark: 0, nowMs: 0);
        leader.UpdateLocal(5, 0);

        Assert.False(leader.UpdateReplica(100, 5, 5, 1));

        Assert.Equal(0, leader.HighWatermark);
        Assert.True(leader.UpdateReplica(2, 5, 5, 1));
        Assert.Equal(5, leader.HighWatermark);
    }

    [Fact]
    public void RecordVoterFetch_MajorityHeard_PushesTheCheckQuorumDeadline()
    {
        var leader = new LeaderState(Five, 1, epoch: 1, epochStartOffset: 0, highWatermark: 0, nowMs: 0);
        Assert.Equal(3000, leader.CheckQuorumDeadline);

        leader.RecordVoterFetch(2, 1000);
        leader.RecordVoterFetch(2, 1500);
        Assert.Equal(3000, leader.CheckQuorumDeadline);
        leader.RecordVoterFetch(3, 2000);

        Assert.Equal(5000, leader.CheckQuorumDeadline);
    }

    [Fact]
    public void UpdateReplica_FetchReachesTheLeaderEndSeenAtTheLastFetch_CountsAsCaughtUpThen()
    {
        var leader = new LeaderState(TestQuorums.Of(1, 2, 3), 1, epoch: 1, epochStartOffset: 0, highWatermark: 0, nowMs: 0);
        leader.UpdateReplica(2, 3, 8, 100);
        leader.UpdateReplica(2, 8, 12, 200);
        var partition = new Broker.Protocol.Messages.DescribeQuorumResponse.PartitionData();

        leader.Describe(partition);

        var two = partition.CurrentVoters.Single(v => v.ReplicaId == 2);
        Assert.Equal((8L, 200L, 100L), (two.LogEndOffset, two.LastFetchTimestamp, two.LastCaughtUpTimestamp));
    }
}
