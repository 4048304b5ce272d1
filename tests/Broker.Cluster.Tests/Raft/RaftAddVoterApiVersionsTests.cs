using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using static Broker.Cluster.Tests.Raft.VoterChangeHarness;

namespace Broker.Cluster.Tests.Raft;

/// <summary>
/// KIP-853's ApiVersions check of a new voter (Kafka's AddVoterHandler): before adding it, the leader asks the new voter,
/// at the controller listener named in AddRaftVoter, which kraft.version range it supports, and records that range.
/// </summary>
public sealed class RaftAddVoterApiVersionsTests
{
    private static readonly QuorumConfig Three = TestQuorums.Dynamic(1, 2, 3);

    /// <summary>AddRaftVoter for node 4 naming a broker listener first and its controller listener second.</summary>
    private static AddRaftVoterRequest AddFour(int timeoutMs = 5000)
    {
        var request = Add(4, TestQuorums.Dir(4), timeoutMs);
        request.Listeners.Insert(0, new AddRaftVoterRequest.Listener { Name = "PLAINTEXT", Host = "broker-host", Port = 9092 });
        return request;
    }

    private static RaftMessage ApiVersionsAnswer(RaftMessage request, ApiVersionsResponse response) =>
        new(request.Destination, request.Source, request.CorrelationId, response);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    public void AddVoter_NewVoterSupportsTheFinalizedVersion_AskedAtItsControllerEndpointAndRecordedWithItsRange(short min, short max)
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        net.ApiVersions = _ => TestApiVersions.Supporting(min, max);

        Send(net, leader, AddFour(), 1);
        net.Advance(1000);

        var request = Assert.Single(net.ApiVersionsRequests);
        Assert.IsType<ApiVersionsRequest>(request.Body);
        Assert.Equal((leader.Id, 4), (request.Source, request.Destination));
        Assert.Equal(new VoterListener("CONTROLLER", "localhost", 9097), request.Endpoint);
        Assert.Equal((short)ErrorCode.None, Answer(net, 1));
        Assert.All(net.Nodes, n =>
        {
            var voter = n.Replica.Voters.TryGet(4);
            Assert.NotNull(voter);
            Assert.Equal((min, max), (voter.MinKRaftVersion, voter.MaxKRaftVersion));
            Assert.Equal(2, voter.Listeners.Count);
        });
        Assert.True(net[4].Replica.IsVoter);
    }

    public static TheoryData<string> Unsupporting => new() { "0-0", "none", "2-3" };

    [Theory]
    [MemberData(nameof(Unsupporting))]
    public void AddVoter_NewVoterWithoutTheFinalizedKRaftVersion_IsInvalidRequestAndNothingChanges(string range)
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        var end = leader.Replica.LogEnd;
        net.ApiVersions = _ => range switch
        {
            "0-0" => TestApiVersions.Supporting(0, 0),
            "2-3" => TestApiVersions.Supporting(2, 3),
            _ => TestApiVersions.Without(),
        };

        Assert.Equal((short)ErrorCode.InvalidRequest, Send(net, leader, AddFour(), 1));

        var message = AnswerOf(net, 1)!.Value.Message;
        Assert.Contains(range == "none" ? "0-0" : range, message, StringComparison.Ordinal);
        Assert.Contains("finalized version 1", message, StringComparison.Ordinal);
        Assert.Equal(end, leader.Replica.LogEnd);
        net.Advance(1000);
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3], n.Replica.Voters.Ids));

        // Aborted, not pending: the next request is decided on its own.
        net.ApiVersions = _ => TestApiVersions.Supporting(0, 1);
        Send(net, leader, AddFour(), 2);
        net.Advance(1000);
        Assert.Equal((short)ErrorCode.None, Answer(net, 2));
    }

    [Fact]
    public void AddVoter_ApiVersionsAnsweredWithAnError_IsRequestTimedOutAndNothingChanges()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        net.ApiVersions = _ => new ApiVersionsResponse { ErrorCode = (short)ErrorCode.BrokerNotAvailable };

        Assert.Equal((short)ErrorCode.RequestTimedOut, Send(net, leader, AddFour(), 1));

        net.Advance(1000);
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3], n.Replica.Voters.Ids));
        Assert.False(net[4].Replica.IsVoter);
    }

    [Fact]
    public void AddVoter_NoApiVersionsAnswerWithinTheRequestTimeout_IsRequestTimedOutThenNotReadyUntilTheRetryBackoff()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        net.ApiVersions = _ => null;

        // The request's own timeout is longer: it is the ApiVersions request's timeout that ends it.
        Assert.Null(Send(net, leader, AddFour(timeoutMs: 10_000), 1));
        net.Advance(Three.RequestTimeoutMs - 10);
        Assert.Null(Answer(net, 1));
        net.Advance(10);
        Assert.Equal((short)ErrorCode.RequestTimedOut, Answer(net, 1));
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3], n.Replica.Voters.Ids));

        // Right after, the node is in its retry backoff: Kafka's "not ready to receive requests".
        net.ApiVersions = _ => TestApiVersions.Supporting(0, 1);
        Assert.Equal((short)ErrorCode.RequestTimedOut, Send(net, leader, AddFour(), 2));
        Assert.Contains("not ready to receive requests", AnswerOf(net, 2)!.Value.Message, StringComparison.Ordinal);
        Assert.Single(net.ApiVersionsRequests);

        net.Advance(Three.RetryBackoffMs);
        Send(net, leader, AddFour(), 3);
        net.Advance(1000);
        Assert.Equal((short)ErrorCode.None, Answer(net, 3));
        Assert.Equal([1, 2, 3, 4], leader.Replica.Voters.Ids);
    }

    [Fact]
    public void AddVoter_WhileApiVersionsIsPending_OtherChangesAreRefusedUntilItCompletes()
    {
        var net = Quorum(Three, 1, 2, 3, 4, 5);
        var leader = ElectAndCommit(net);
        net.ApiVersions = _ => null;
        Assert.Null(Send(net, leader, AddFour(), 1));
        var pending = Assert.Single(net.ApiVersionsRequests);

        Assert.Equal((short)ErrorCode.RequestTimedOut, Send(net, leader, Add(5, TestQuorums.Dir(5)), 2));
        Assert.Equal((short)ErrorCode.RequestTimedOut, Send(net, leader, Remove(2, TestQuorums.Dir(2)), 3));
        Assert.Single(net.ApiVersionsRequests);

        // The awaited answer arrives: the first change goes on and commits.
        leader.Replica.Handle(ApiVersionsAnswer(pending, TestApiVersions.Supporting(0, 1)), net.Time.NowMs);
        net.Advance(1000);
        Assert.Equal((short)ErrorCode.None, Answer(net, 1));
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3, 4], n.Replica.Voters.Ids));
    }

    [Fact]
    public void AddVoter_LeadershipLostWhileApiVersionsIsPending_IsNotLeaderAndALateAnswerAddsNothing()
    {
        var net = Quorum(Three, 1, 2, 3, 4);
        var leader = ElectAndCommit(net);
        net.ApiVersions = _ => null;
        Assert.Null(Send(net, leader, AddFour(timeoutMs: 10_000), 1));
        var pending = Assert.Single(net.ApiVersionsRequests);

        Assert.True(leader.Replica.Resign(net.Time.NowMs));
        net.Pump();
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, Answer(net, 1));

        // The answer comes after all: the resigned leader drops it.
        leader.Replica.Handle(ApiVersionsAnswer(pending, TestApiVersions.Supporting(0, 1)), net.Time.NowMs);
        Assert.Equal([1, 2, 3], leader.Replica.Voters.Ids);
        net.ElectLeader();
        net.Advance(1000);
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3], n.Replica.Voters.Ids));
        Assert.False(net[4].Replica.IsVoter);
    }
}
