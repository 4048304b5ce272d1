using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using static Broker.Cluster.Tests.Raft.VoterChangeHarness;

namespace Broker.Cluster.Tests.Raft;

/// <summary>KIP-853 voter changes: the voter set from the log, AddRaftVoter and RemoveRaftVoter on the leader.</summary>
public sealed class RaftVoterChangeTests
{
    private static readonly QuorumConfig Three = TestQuorums.Dynamic(1, 2, 3);

    [Fact]
    public void AddVoter_CaughtUpObserver_TakesEffectOnAppendAndIsAnsweredOnCommit()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        Assert.False(net[4].Replica.IsVoter);

        // The leader first asks node 4 for its kraft.version range; the answer is held back here.
        net.ApiVersions = _ => null;
        Assert.Null(Send(net, leader, Add(4, TestQuorums.Dir(4)), 1));
        var apiVersions = Assert.Single(net.ApiVersionsRequests);
        Assert.Equal([1, 2, 3], leader.Replica.Voters.Ids);

        // On the answer the record is in force on the leader alone (nothing pumped yet), and not committed, so not answered.
        leader.Replica.Handle(new RaftMessage(4, leader.Id, apiVersions.CorrelationId, TestApiVersions.Supporting(0, 1)), net.Time.NowMs);
        Assert.Equal([1, 2, 3, 4], leader.Replica.Voters.Ids);
        Assert.Equal([1, 2, 3], net.Nodes.First(n => n.Id != leader.Id).Replica.Voters.Ids);
        Assert.Null(Answer(net, 1));

        net.Advance(1000);
        Assert.Equal((short)ErrorCode.None, Answer(net, 1));
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3, 4], n.Replica.Voters.Ids));
        Assert.True(net[4].Replica.IsVoter);
        Assert.Equal(TestQuorums.Dir(4), leader.Replica.Voters.TryGet(4)!.DirectoryId);

        // Four voters: the leader needs two followers now; with only one reachable nothing commits.
        var hw = leader.Replica.HighWatermark;
        var follower = net.Nodes.First(n => n.Id != leader.Id).Id;
        net.Deliverable = m => (m.Source == leader.Id && m.Destination == follower) || (m.Source == follower && m.Destination == leader.Id)
            || m.Destination == Admin;
        leader.Replica.TryAppend([RaftTestData.Value(1)], net.Time.NowMs, out _);
        net.Advance(600);
        Assert.Equal(hw, leader.Replica.HighWatermark);
    }

    [Fact]
    public void AddVoter_StaticQuorum_IsUnsupportedVersion()
    {
        var net = Quorum(TestQuorums.Of(1, 2, 3), 1, 2, 3, 4);
        var leader = ElectAndCommit(net);

        Assert.Equal((short)ErrorCode.UnsupportedVersion, Send(net, leader, Add(4, TestQuorums.Dir(4)), 1));
        Assert.Equal((short)ErrorCode.UnsupportedVersion, Send(net, leader, Remove(3, Guid.Empty), 2));
        Assert.Equal([1, 2, 3], leader.Replica.Voters.Ids);
    }

    [Fact]
    public void AddVoter_Follower_IsNotLeaderOrFollower()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        var follower = net.Nodes.First(n => n.Id != leader.Id && n.Id != 4);

        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, Send(net, follower, Add(4, TestQuorums.Dir(4)), 1));
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, Send(net, follower, Remove(1, TestQuorums.Dir(1)), 2));
    }

    [Fact]
    public void AddVoter_UnknownReplicaWrongDirectoryOrExistingVoter_IsRefused()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);

        // Nobody answers ApiVersions for node 5: REQUEST_TIMED_OUT once that request times out.
        Assert.Null(Send(net, leader, Add(5, TestQuorums.Dir(5)), 1));
        net.Advance(Three.RequestTimeoutMs);
        Assert.Equal((short)ErrorCode.RequestTimedOut, Answer(net, 1));

        // Node 4 answers, but it has not fetched with that directory id: not a caught-up observer.
        Assert.Equal((short)ErrorCode.RequestTimedOut, Send(net, leader, Add(4, TestQuorums.Dir(7)), 2));
        Assert.Equal((short)RaftProtocol.DuplicateVoter, Send(net, leader, Add(2, TestQuorums.Dir(2)), 3));
        var noController = Add(4, TestQuorums.Dir(4));
        noController.Listeners[0].Name = "PLAINTEXT";
        Assert.Equal((short)ErrorCode.InvalidRequest, Send(net, leader, noController, 4));
        Assert.Equal([1, 2, 3], leader.Replica.Voters.Ids);
    }

    [Fact]
    public void AddVoter_WhileAChangeIsUncommitted_IsRequestTimedOutAndTheFirstTimesOut()
    {
        var net = Quorum(Three, 1, 2, 3, 4, 5);
        var leader = ElectAndCommit(net);
        // The leader is cut off from fetches, but its ApiVersions exchange with node 4 goes through: the record is appended
        // and cannot commit.
        net.Deliverable = m => (m.Source != leader.Id && m.Destination != leader.Id) || m.Body is ApiVersionsRequest or ApiVersionsResponse;
        Assert.Null(Send(net, leader, Add(4, TestQuorums.Dir(4), timeoutMs: 1000), 1));
        Assert.Equal([1, 2, 3, 4], leader.Replica.Voters.Ids);

        Assert.Equal((short)ErrorCode.RequestTimedOut, Send(net, leader, Add(5, TestQuorums.Dir(5)), 2));
        Assert.Equal((short)ErrorCode.RequestTimedOut, Send(net, leader, Remove(2, TestQuorums.Dir(2)), 3));

        // Cut off past the request's timeout (and before check-quorum would end the epoch): REQUEST_TIMED_OUT.
        net.Advance(1100);
        Assert.Equal(RaftRole.Leader, leader.Replica.Role);
        Assert.Equal((short)ErrorCode.RequestTimedOut, Answer(net, 1));
    }

    [Fact]
    public void RemoveVoter_Follower_LeavesTwoVotersAndTheRemovedNodeNeverRuns()
    {
        var net = Quorum(Three, 1, 2, 3);
        var leader = ElectAndCommit(net);
        var removed = net.Nodes.First(n => n.Id != leader.Id);

        Assert.Equal((short)RaftProtocol.VoterNotFound, Send(net, leader, Remove(removed.Id, TestQuorums.Dir(9)), 1));
        Send(net, leader, Remove(removed.Id, TestQuorums.Dir(removed.Id)), 2);
        net.Advance(1000);

        Assert.Equal((short)ErrorCode.None, Answer(net, 2));
        Assert.All(net.Nodes, n => Assert.Equal(2, n.Replica.Voters.Count));
        Assert.False(removed.Replica.IsVoter);

        // Cut off from everybody, the removed node never becomes a candidate; the two voters still commit together.
        net.Deliverable = m => m.Source != removed.Id && m.Destination != removed.Id;
        net.Advance(10_000);
        Assert.NotEqual(RaftRole.Candidate, removed.Replica.Role);
        Assert.Equal(leader.Replica.Epoch, removed.Replica.Epoch);
        Assert.True(leader.Replica.TryAppend([RaftTestData.Value(1)], net.Time.NowMs, out var offset));
        net.Advance(600);
        Assert.True(leader.Replica.HighWatermark > offset);
    }

    [Fact]
    public void RemoveVoter_TheLeaderItself_ResignsOnceCommittedAndTheOthersElect()
    {
        var net = Quorum(Three, 1, 2, 3);
        var leader = ElectAndCommit(net);
        var epoch = leader.Replica.Epoch;

        Send(net, leader, Remove(leader.Id, TestQuorums.Dir(leader.Id)), 1);
        net.Advance(600);
        Assert.Equal((short)ErrorCode.None, Answer(net, 1));
        Assert.NotEqual(RaftRole.Leader, leader.Replica.Role);

        var next = net.ElectLeader();
        Assert.NotEqual(leader.Id, next.Id);
        Assert.True(next.Replica.Epoch > epoch);
        Assert.False(leader.Replica.IsVoter);
        net.Advance(3000);
        Assert.Equal(next.Id, leader.Replica.LeaderId);
        Assert.True(next.Replica.TryAppend([RaftTestData.Value(1)], net.Time.NowMs, out var offset));
        net.Advance(600);
        Assert.True(leader.Replica.HighWatermark > offset);
    }

    [Fact]
    public void RemoveVoter_OnlyVoter_IsVoterNotFound()
    {
        var net = Quorum(TestQuorums.Dynamic(1), 1);
        var leader = net[1];
        net.Advance(10);

        Assert.Equal(RaftRole.Leader, leader.Replica.Role);
        Assert.Equal((short)RaftProtocol.VoterNotFound, Send(net, leader, Remove(1, TestQuorums.Dir(1)), 1));
    }

    [Fact]
    public void VotersRecord_TruncatedAway_IsRolledBackAndTheRequestFails()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var old = ElectAndCommit(net);

        // The isolated leader appends the change alone; the others elect a new leader and write over it.
        // (Its ApiVersions exchange with node 4 still goes through, so the record is appended.)
        net.Deliverable = m => (m.Source != old.Id && m.Destination != old.Id) || m.Body is ApiVersionsRequest or ApiVersionsResponse;
        Send(net, old, Add(4, TestQuorums.Dir(4)), 1);
        Assert.Equal(4, old.Replica.Voters.Count);
        RaftTestNode? next = null;
        for (var i = 0; i < 1000 && next is null; i++)
        {
            net.Advance(10);
            next = net.Nodes.FirstOrDefault(n => n.Id != old.Id && n.Replica.Role == RaftRole.Leader);
        }

        Assert.NotNull(next);
        next.Replica.TryAppend([RaftTestData.Value(1)], net.Time.NowMs, out _);
        net.Advance(600);

        net.Deliverable = _ => true;
        net.Advance(4000);
        Assert.Equal([1, 2, 3], old.Replica.Voters.Ids);
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3], n.Replica.Voters.Ids));
        Assert.False(net[4].Replica.IsVoter);
        Assert.NotEqual((short)ErrorCode.None, Answer(net, 1));
    }

    [Fact]
    public void Restart_VoterSetFromTheLog_IsRestored()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        Send(net, leader, Add(4, TestQuorums.Dir(4)), 1);
        net.Advance(1000);
        Assert.Equal((short)ErrorCode.None, Answer(net, 1));

        var node = net[4];
        var restarted = new RaftTestNode(4, Three, 7, node.Log, node.Store, TestQuorums.Dir(4));
        restarted.Replica.Start(net.Time.NowMs);

        Assert.Equal([1, 2, 3, 4], restarted.Replica.Voters.Ids);
        Assert.True(restarted.Replica.IsVoter);
    }

    [Fact]
    public void Leader_DynamicQuorumFromBootstrap_WritesTheVotersIntoTheLogForObservers()
    {
        // Observer 4 starts with no voters at all (formatted with --no-initial-controllers) and finds the leader through
        // a bootstrap server.
        var net = Quorum(Three, 1, 2, 3);
        var leader = ElectAndCommit(net);
        var bare = new QuorumConfig([]) { KRaftVersion = 1, BootstrapServers = [new VoterEndpoint(-2, "localhost", 9093 + leader.Id)] };
        net.Aliases[-2] = leader.Id;
        net[4] = new RaftTestNode(4, bare, 5, directoryId: TestQuorums.Dir(4));
        net[4].Replica.Start(net.Time.NowMs);
        net.Advance(1000);

        Assert.Equal([1, 2, 3], net[4].Replica.Voters.Ids);
        Assert.Equal(leader.Replica.HighWatermark, net[4].Replica.HighWatermark);
        Assert.Equal((short)ErrorCode.None, Send(net, leader, Add(4, TestQuorums.Dir(4)), 1) ?? RunAndAnswer(net, 1));
        Assert.True(net[4].Replica.IsVoter);
    }

    private static UpdateRaftVoterRequest Update(int id, Guid directory, int epoch, int port, short min = 0, short max = 1) => new()
    {
        ClusterId = null,
        CurrentLeaderEpoch = epoch,
        VoterId = id,
        VoterDirectoryId = directory,
        Listeners = [new UpdateRaftVoterRequest.Listener { Name = "CONTROLLER", Host = "moved", Port = (ushort)port }],
        KRaftVersionFeature = new UpdateRaftVoterRequest.KRaftVersionFeatureData { MinSupportedVersion = min, MaxSupportedVersion = max },
    };

    private static UpdateRaftVoterResponse SendUpdate(InstantNetwork net, RaftTestNode target, UpdateRaftVoterRequest request, long correlationId)
    {
        target.Replica.Handle(new RaftMessage(Admin, target.Id, correlationId, request), net.Time.NowMs);
        net.Pump();
        return (UpdateRaftVoterResponse)net.Outside.Single(m => m.CorrelationId == correlationId).Body;
    }

    [Fact]
    public void UpdateVoter_NewEndpoint_IsAnsweredAtOnceAndReachesEveryReplica()
    {
        var net = Quorum(Three, 1, 2, 3);
        var leader = ElectAndCommit(net);
        var other = net.Nodes.First(n => n.Id != leader.Id).Id;

        var response = SendUpdate(net, leader, Update(other, TestQuorums.Dir(other), leader.Replica.Epoch, 19999), 1);
        net.Advance(1000);

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.Equal(leader.Id, response.CurrentLeader.LeaderId);
        Assert.Equal(9093 + leader.Id, response.CurrentLeader.Port);
        Assert.All(net.Nodes, n => Assert.Equal(new VoterEndpoint(other, "moved", 19999) { DirectoryId = TestQuorums.Dir(other) }, n.Replica.VoterEndpoint(other)));
        Assert.Equal([1, 2, 3], leader.Replica.Voters.Ids);
    }

    [Fact]
    public void UpdateVoter_WrongDirectoryStaleEpochBadRangeOrFollower_IsRefused()
    {
        var net = Quorum(Three, 1, 2, 3);
        var leader = ElectAndCommit(net);
        var epoch = leader.Replica.Epoch;
        var other = net.Nodes.First(n => n.Id != leader.Id);

        Assert.Equal((short)RaftProtocol.VoterNotFound, SendUpdate(net, leader, Update(other.Id, TestQuorums.Dir(9), epoch, 1), 1).ErrorCode);
        Assert.Equal((short)ErrorCode.FencedLeaderEpoch, SendUpdate(net, leader, Update(other.Id, TestQuorums.Dir(other.Id), epoch - 1, 1), 2).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, SendUpdate(net, leader, Update(other.Id, TestQuorums.Dir(other.Id), epoch, 1, min: 0, max: 0), 3).ErrorCode);
        var refused = SendUpdate(net, other, Update(other.Id, TestQuorums.Dir(other.Id), epoch, 1), 4);
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, refused.ErrorCode);
        Assert.Equal(leader.Id, refused.CurrentLeader.LeaderId);
        Assert.Equal(9093 + other.Id, leader.Replica.VoterEndpoint(other.Id)!.Value.Port);
    }

    private static short? RunAndAnswer(InstantNetwork net, long correlationId)
    {
        net.Advance(1000);
        return Answer(net, correlationId);
    }
}
