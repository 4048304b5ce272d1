using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Raft;

/// <summary>Fetch-based replication, the high watermark, divergence, check-quorum, resignation, observers and DescribeQuorum.</summary>
public sealed class RaftReplicationTests
{
    private static readonly QuorumConfig Three = TestQuorums.Of(1, 2, 3);

    [Fact]
    public void TryAppend_ThreeVoters_CommitsOnLeaderAtOnceAndOnFollowersWithinTheFetchWait()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        net.Advance(600);

        Assert.True(leader.Replica.TryAppend([RaftTestData.Value(7)], net.Time.NowMs, out var offset));
        net.Pump();

        // The parked fetches were answered with the record; the followers' next fetches moved the high watermark.
        Assert.Equal(offset + 1, leader.Replica.HighWatermark);
        net.Advance(600);
        foreach (var node in net.Nodes)
        {
            Assert.Equal(offset + 1, node.Replica.HighWatermark);
            Assert.Equal(leader.Listener.Committed, node.Listener.Committed);
        }
    }

    [Fact]
    public void HighWatermark_OnlyOneFollowerOfFourReachable_DoesNotAdvance()
    {
        var net = new InstantNetwork(TestQuorums.Of(1, 2, 3, 4, 5), [1, 2, 3, 4, 5]);
        net.StartAll();
        var leader = net.ElectLeader();
        net.Advance(600);
        var committed = leader.Replica.HighWatermark;
        var reachable = net.Nodes.First(n => n.Id != leader.Id).Id;
        net.Deliverable = m => (m.Source == leader.Id && m.Destination == reachable) || (m.Source == reachable && m.Destination == leader.Id);

        leader.Replica.TryAppend([RaftTestData.Value(1)], net.Time.NowMs, out var offset);
        net.Advance(1000);

        Assert.Equal(committed, leader.Replica.HighWatermark);
        Assert.Equal(offset + 1, net[reachable].Log.EndOffset.Offset);

        // Healed: whoever leads now, every replica ends up with the same committed batches.
        net.Deliverable = _ => true;
        net.Advance(8000);
        var current = Assert.Single(net.Nodes, n => n.Replica.Role == RaftRole.Leader);
        Assert.True(current.Replica.HighWatermark > committed);
        Assert.All(net.Nodes, n => Assert.Equal(current.Listener.Committed, n.Listener.Committed));
    }

    [Fact]
    public void Fetch_FollowerWithUncommittedTailOfAnOldEpoch_IsToldTheDivergingEpochAndTruncates()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);

        // Node 2 led epoch 2 and wrote 4 records nobody else has; nodes 1 and 3 moved on to epoch 3, where 1 is a candidate.
        net[1] = Preset(1, [(2, 1), (2, 3)], new ElectionState(3, -1, 1));
        net[2] = Preset(2, [(2, 1), (4, 2)], new ElectionState(2, 2, 2));
        net[3] = Preset(3, [(2, 1), (2, 3)], new ElectionState(3, -1, 1));
        net.StartAll();

        var leader = net.ElectLeader();
        net.Advance(1000);

        Assert.Equal(1, leader.Id);
        Assert.Equal(RaftTestData.ReadAll(leader.Log), RaftTestData.ReadAll(net[2].Log));
        Assert.DoesNotContain(RaftTestData.ReadAll(net[2].Log), b => b.Epoch == 2);
        Assert.Equal(leader.Replica.HighWatermark, net[2].Replica.HighWatermark);
    }

    [Fact]
    public void FetchResponse_LastBatchCutAtTheByteLimit_AppendsOnlyTheWholeBatches()
    {
        var follower = new RaftTestNode(1, Three, seed: 1);
        follower.Store.Write(new ElectionState(5, 2, -1));
        follower.Replica.Start(0);
        var fetch = Assert.Single(follower.Drain(), m => m.Body is FetchRequest);
        var whole = RaftTestData.Batch(2, baseOffset: 0, epoch: 5);
        var next = RaftTestData.Batch(3, baseOffset: 2, epoch: 5);
        var (response, partition) = FetchResponseFor(leaderId: 2, epoch: 5, highWatermark: 2);
        partition.Records = (byte[])[.. whole, .. next.AsSpan(0, 40)];

        follower.Replica.Handle(new RaftMessage(2, 1, fetch.CorrelationId, response), 10);

        Assert.Equal(new OffsetAndEpoch(2, 5), follower.Log.EndOffset);
        Assert.Equal(2, follower.Replica.HighWatermark);
        var again = Assert.Single(follower.Drain(), m => m.Body is FetchRequest);
        Assert.Equal(2, ((FetchRequest)again.Body).Topics[0].Partitions[0].FetchOffset);
    }

    [Fact]
    public void Fetch_StaleEpoch_AnswersFencedLeaderEpochWithTheCurrentLeader()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        var fetch = new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = 9 },
            Topics = [new FetchRequest.FetchTopic { Topic = "__cluster_metadata", Partitions = [new FetchRequest.FetchPartition { CurrentLeaderEpoch = 0, LastFetchedEpoch = 0 }] }],
        };

        leader.Replica.Handle(new RaftMessage(9, leader.Id, 42, fetch), net.Time.NowMs);

        var answer = Assert.Single(leader.Drain(), m => m.Destination == 9);
        var partition = ((FetchResponse)answer.Body).Responses[0].Partitions[0];
        Assert.Equal((short)ErrorCode.FencedLeaderEpoch, partition.ErrorCode);
        Assert.Equal((leader.Id, leader.Replica.Epoch), (partition.CurrentLeader.LeaderId, partition.CurrentLeader.LeaderEpoch));
        Assert.Equal(42, answer.CorrelationId);
    }

    [Fact]
    public void Fetch_LastFetchedEpochAboveTheRequestEpoch_AnswersInvalidRequest()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        var epoch = leader.Replica.Epoch;
        var fetch = new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = 2 },
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    Topic = "__cluster_metadata",
                    Partitions = [new FetchRequest.FetchPartition { CurrentLeaderEpoch = epoch, LastFetchedEpoch = epoch + 1, FetchOffset = 1 }],
                },
            ],
        };

        leader.Replica.Handle(new RaftMessage(2, leader.Id, 43, fetch), net.Time.NowMs);

        var answer = Assert.Single(leader.Drain(), m => m.CorrelationId == 43);
        Assert.Equal((short)ErrorCode.InvalidRequest, ((FetchResponse)answer.Body).Responses[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public void Poll_LeaderCutOffFromAllFollowers_ResignsAfterOneAndAHalfFetchTimeouts()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        net.Advance(500);
        net.Deliverable = m => m.Source != leader.Id && m.Destination != leader.Id;

        // Followers fetch at least every 500 ms (the leader's fetch wait), so the last one was heard at most that long ago.
        net.Advance(2400);
        Assert.Equal(RaftRole.Leader, leader.Replica.Role);
        net.Advance(610);

        Assert.Equal(RaftRole.Resigned, leader.Replica.Role);
        Assert.False(leader.Replica.TryAppend([RaftTestData.Value(1)], net.Time.NowMs, out _));
    }

    [Fact]
    public void Resign_Graceful_PreferredSuccessorTakesOverBeforeAnyElectionTimeout()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        net.Advance(600);
        var epoch = leader.Replica.Epoch;

        Assert.True(leader.Replica.Resign(net.Time.NowMs));
        net.Pump();
        net.Advance(100);

        var successor = Assert.Single(net.Nodes, n => n.Replica.Role == RaftRole.Leader);
        Assert.NotEqual(leader.Id, successor.Id);
        Assert.Equal(epoch + 1, successor.Replica.Epoch);
    }

    [Fact]
    public void Observer_NotAVoter_FindsTheLeaderThroughAVoterAndReplicates()
    {
        var net = new InstantNetwork(Three, [1, 2, 3, 100]);
        net.StartAll();
        var leader = net.ElectLeader();
        leader.Replica.TryAppend([RaftTestData.Value(5)], net.Time.NowMs, out _);
        net.Advance(1500);

        var observer = net[100].Replica;
        Assert.False(observer.IsVoter);
        Assert.Equal(RaftRole.Follower, observer.Role);
        Assert.Equal(leader.Id, observer.LeaderId);
        Assert.Equal(leader.Listener.Committed, net[100].Listener.Committed);
        var described = leader.Replica.DescribeQuorum().Topics[0].Partitions[0];
        Assert.Equal(100, Assert.Single(described.Observers).ReplicaId);
    }

    [Fact]
    public void DescribeQuorum_Leader_ReportsEveryVotersEndOffsetAndFetchTimes()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        net.Advance(600);
        var follower = net.Nodes.First(n => n != leader);

        var partition = leader.Replica.DescribeQuorum().Topics[0].Partitions[0];

        Assert.Equal((short)0, partition.ErrorCode);
        Assert.Equal((leader.Id, leader.Replica.Epoch, leader.Replica.HighWatermark), (partition.LeaderId, partition.LeaderEpoch, partition.HighWatermark));
        Assert.Equal([1, 2, 3], partition.CurrentVoters.Select(v => v.ReplicaId));
        Assert.All(partition.CurrentVoters, v => Assert.Equal(leader.Log.EndOffset.Offset, v.LogEndOffset));
        Assert.All(partition.CurrentVoters, v => Assert.InRange(v.LastCaughtUpTimestamp, 1, net.Time.NowMs));
        var notLeader = follower.Replica.DescribeQuorum().Topics[0].Partitions[0];
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, notLeader.ErrorCode);
        Assert.Equal(leader.Id, notLeader.LeaderId);
    }

    [Fact]
    public void Start_AfterCrashAsLeader_ComesBackResignedAndRejoinsTheNewLeader()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        leader.Replica.TryAppend([RaftTestData.Value(1)], net.Time.NowMs, out _);
        net.Advance(600);
        var epoch = leader.Replica.Epoch;

        var restarted = new RaftTestNode(leader.Id, Three, seed: 99, leader.Log.CloneFlushed(), leader.Store);
        net[leader.Id] = restarted;
        restarted.Replica.Start(net.Time.NowMs);
        Assert.Equal(RaftRole.Resigned, restarted.Replica.Role);
        var next = net.ElectLeader();
        net.Advance(1000);

        Assert.True(next.Replica.Epoch > epoch);
        Assert.Equal(next.Replica.HighWatermark, restarted.Replica.HighWatermark);
        Assert.Equal(next.Listener.Committed, restarted.Listener.Committed);
    }

    private static (FetchResponse Response, FetchResponse.PartitionData Partition) FetchResponseFor(int leaderId, int epoch, long highWatermark)
    {
        var partition = new FetchResponse.PartitionData { HighWatermark = highWatermark };
        partition.CurrentLeader.LeaderId = leaderId;
        partition.CurrentLeader.LeaderEpoch = epoch;
        return (new FetchResponse { Responses = [new FetchResponse.FetchableTopicResponse { Topic = "__cluster_metadata", Partitions = [partition] }] }, partition);
    }

    private static RaftTestNode Preset(int id, (int Count, int Epoch)[] batches, ElectionState state)
    {
        var log = new MemoryRaftLog();
        foreach (var (count, epoch) in batches)
        {
            log.AppendAsLeader(RaftTestData.Batch(count), epoch);
        }

        log.Flush();
        var store = new MemoryQuorumStateStore();
        store.Write(state);
        return new RaftTestNode(id, Three, seed: id, log, store);
    }
}
