using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Raft;

/// <summary>Election rules of the replica state machine, driven message by message.</summary>
public sealed class RaftElectionTests
{
    private static readonly QuorumConfig Three = TestQuorums.Of(1, 2, 3);

    [Fact]
    public void Start_SingleVoter_ElectsItselfAndCommitsTheLeaderChangeAtOnce()
    {
        var node = new RaftTestNode(1, TestQuorums.Of(1), seed: 1);

        node.Replica.Start(0);

        Assert.Equal(RaftRole.Leader, node.Replica.Role);
        Assert.Equal(1, node.Replica.Epoch);
        Assert.Equal(1, node.Replica.HighWatermark);
        var leaderChange = Assert.Single(node.Listener.Committed);
        Assert.True(leaderChange.Control);
        Assert.Equal(1, leaderChange.Epoch);
        Assert.Equal(new ElectionState(1, 1, 1), node.Store.State);
    }

    [Fact]
    public void TryAppend_SingleVoter_CommitsImmediatelyInOrder()
    {
        var node = new RaftTestNode(1, TestQuorums.Of(1), seed: 1);
        node.Replica.Start(0);

        Assert.True(node.Replica.TryAppend([RaftTestData.Value(1), RaftTestData.Value(2)], 5, out var last));
        Assert.True(node.Replica.TryAppend([RaftTestData.Value(3)], 6, out var last2));

        Assert.Equal(2, last);
        Assert.Equal(3, last2);
        Assert.Equal(4, node.Replica.HighWatermark);
        Assert.Equal([(0L, 0L), (1L, 2L), (3L, 3L)], node.Listener.Committed.Select(c => (c.Base, c.Last)));
    }

    [Fact]
    public void Start_SingleVoterRestartedAsLeader_TakesANewEpochAndReplaysTheLog()
    {
        var first = new RaftTestNode(1, TestQuorums.Of(1), seed: 1);
        first.Replica.Start(0);
        first.Replica.TryAppend([RaftTestData.Value(1)], 1, out _);

        var restarted = new RaftTestNode(1, TestQuorums.Of(1), seed: 2, first.Log.CloneFlushed(), first.Store);
        restarted.Replica.Start(100);

        Assert.Equal(RaftRole.Leader, restarted.Replica.Role);
        Assert.Equal(2, restarted.Replica.Epoch);
        Assert.Equal([(0L, 1), (1L, 1), (2L, 2)], restarted.Listener.Committed.Select(c => (c.Base, c.Epoch)));
    }

    [Fact]
    public void Start_LogHoldsALaterEpochThanQuorumState_TakesTheLogsEpochAndStillRunsForElection()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Log.AppendAsLeader(RaftTestData.Batch(2), 4);
        node.Store.Write(new ElectionState(2, 3, -1));

        node.Replica.Start(0);

        Assert.Equal((RaftRole.Unattached, 4), (node.Replica.Role, node.Replica.Epoch));
        Assert.Equal(new ElectionState(4, -1, -1), node.Store.State);
        node.Replica.Poll(2000);
        Assert.Equal((RaftRole.Candidate, 5), (node.Replica.Role, node.Replica.Epoch));
    }

    [Fact]
    public void TryAppend_NotLeader_RefusesAndAppendsNothing()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);

        Assert.False(node.Replica.TryAppend([RaftTestData.Value(1)], 1, out var last));

        Assert.Equal(-1, last);
        Assert.Equal(0, node.Log.EndOffset.Offset);
    }

    [Fact]
    public void Poll_ElectionTimeoutExpires_BecomesCandidatePersistsItsVoteAndAsksEveryVoter()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);
        Assert.Equal(RaftRole.Unattached, node.Replica.Role);
        Assert.Empty(node.Drain());

        // The timeout is drawn from [1000, 2000).
        node.Replica.Poll(999);
        Assert.Equal(RaftRole.Unattached, node.Replica.Role);
        node.Replica.Poll(2000);

        Assert.Equal(RaftRole.Candidate, node.Replica.Role);
        Assert.Equal(new ElectionState(1, -1, 1), node.Store.State);
        var requests = node.Drain();
        Assert.Equal([2, 3], requests.Select(r => r.Destination).Order());
        var vote = Assert.IsType<VoteRequest>(requests[0].Body).Topics[0].Partitions[0];
        Assert.Equal((1, 1, 0, 0L), (vote.CandidateEpoch, vote.CandidateId, vote.LastOffsetEpoch, vote.LastOffset));
    }

    [Fact]
    public void HandleVoteRequest_UpToDateCandidate_GrantsOncePerEpochAndPersistsFirst()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);

        var first = Vote(node, candidate: 2, epoch: 3, lastEpoch: 0, lastOffset: 0);
        Assert.Equal(new ElectionState(3, -1, 2), node.Store.State);
        var other = Vote(node, candidate: 3, epoch: 3, lastEpoch: 0, lastOffset: 0);
        var again = Vote(node, candidate: 2, epoch: 3, lastEpoch: 0, lastOffset: 0);

        Assert.True(first.VoteGranted);
        Assert.False(other.VoteGranted);
        Assert.True(again.VoteGranted);
        Assert.Equal(RaftRole.Voted, node.Replica.Role);
        Assert.Equal(3, other.LeaderEpoch);
    }

    [Fact]
    public void HandleVoteRequest_CandidateLogBehind_RejectsButTakesTheEpoch()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Log.AppendAsLeader(RaftTestData.Batch(3), 2);
        node.Replica.Start(0);

        var shorterSameEpoch = Vote(node, candidate: 2, epoch: 4, lastEpoch: 2, lastOffset: 2);
        var olderEpochLonger = Vote(node, candidate: 3, epoch: 5, lastEpoch: 1, lastOffset: 50);

        Assert.False(shorterSameEpoch.VoteGranted);
        Assert.False(olderEpochLonger.VoteGranted);
        Assert.Equal(new ElectionState(5, -1, -1), node.Store.State);
        Assert.Equal(RaftRole.Unattached, node.Replica.Role);
    }

    [Fact]
    public void HandleVoteRequest_StaleEpoch_AnswersFencedLeaderEpochWithOurEpoch()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Store.Write(new ElectionState(6, 3, -1));
        node.Replica.Start(0);

        var response = Vote(node, candidate: 2, epoch: 5, lastEpoch: 0, lastOffset: 0);

        Assert.False(response.VoteGranted);
        Assert.Equal((short)ErrorCode.FencedLeaderEpoch, response.ErrorCode);
        Assert.Equal((3, 6), (response.LeaderId, response.LeaderEpoch));
        Assert.Equal(RaftRole.Follower, node.Replica.Role);
    }

    [Fact]
    public void HandleVoteRequest_FromANonVoter_AnswersInconsistentVoterSet()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);

        var response = Vote(node, candidate: 9, epoch: 1, lastEpoch: 0, lastOffset: 0);

        Assert.False(response.VoteGranted);
        Assert.Equal(94, response.ErrorCode);
        Assert.Equal(0, node.Replica.Epoch);
    }

    [Fact]
    public void HandleVoteResponse_MajorityGranted_LeadsAppendsLeaderChangeAndSendsBeginQuorumEpoch()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);
        node.Replica.Poll(2000);
        var requests = node.Drain();
        var toTwo = requests.Single(r => r.Destination == 2);

        node.Replica.Handle(new RaftMessage(2, 1, toTwo.CorrelationId, VoteResponseFrom(granted: true, epoch: 1)), 2001);

        Assert.Equal(RaftRole.Leader, node.Replica.Role);
        Assert.Equal(new ElectionState(1, 1, 1), node.Store.State);
        Assert.Equal(new OffsetAndEpoch(1, 1), node.Log.EndOffset);
        Assert.Equal(0, node.Replica.HighWatermark);
        var begins = node.Drain().Where(m => m.Body is BeginQuorumEpochRequest).Select(m => m.Destination).Order();
        Assert.Equal([2, 3], begins);
    }

    [Fact]
    public void HandleVoteResponse_MajorityRejected_BacksOffThenRunsInTheNextEpoch()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);
        node.Replica.Poll(2000);
        foreach (var request in node.Drain())
        {
            node.Replica.Handle(new RaftMessage(request.Destination, 1, request.CorrelationId, VoteResponseFrom(granted: false, epoch: 1)), 2001);
        }

        Assert.Equal(RaftRole.Candidate, node.Replica.Role);
        Assert.Empty(node.Drain());

        // The backoff is at most controller.quorum.election.backoff.max.ms.
        node.Replica.Poll(2001 + 1000);

        Assert.Equal(2, node.Replica.Epoch);
        Assert.Equal(2, node.Drain().Count(m => m.Body is VoteRequest));
    }

    [Fact]
    public void HandleBeginQuorumEpoch_NewerEpoch_FollowsTheLeaderAndFetchesFromIt()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);

        node.Replica.Handle(new RaftMessage(2, 1, 77, RaftProtocolAccess.Begin(leaderId: 2, epoch: 4)), 10);

        Assert.Equal(RaftRole.Follower, node.Replica.Role);
        Assert.Equal(new ElectionState(4, 2, -1), node.Store.State);
        var sent = node.Drain();
        Assert.Contains(sent, m => m.Body is BeginQuorumEpochResponse && m.CorrelationId == 77 && m.Destination == 2);
        var fetch = Assert.Single(sent, m => m.Body is FetchRequest);
        Assert.Equal(2, fetch.Destination);
    }

    [Fact]
    public void Start_AfterCrashAsCandidate_ResumesTheCandidacyInTheSameEpoch()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Store.Write(new ElectionState(4, -1, 1));

        node.Replica.Start(0);

        Assert.Equal((RaftRole.Candidate, 4), (node.Replica.Role, node.Replica.Epoch));
        Assert.Equal(2, node.Drain().Count(m => m.Body is VoteRequest vote && vote.Topics[0].Partitions[0].CandidateEpoch == 4));
    }

    [Fact]
    public void HandleEndQuorumEpoch_RankedSuccessors_FirstRunsAtOnceSecondWaitsItsBackoff()
    {
        var first = Follower(1);
        var second = Follower(3);

        foreach (var node in new[] { first, second })
        {
            node.Replica.Handle(new RaftMessage(2, node.Id, 9, EndEpoch(leaderId: 2, epoch: 5, successors: [1, 3])), 100);
            node.Replica.Poll(100);
        }

        // With two successors the second waits (1000 >> 1) << 0 = 500 ms.
        Assert.Equal((RaftRole.Candidate, 6), (first.Replica.Role, first.Replica.Epoch));
        Assert.Equal(RaftRole.Follower, second.Replica.Role);
        second.Replica.Poll(599);
        Assert.Equal(RaftRole.Follower, second.Replica.Role);
        second.Replica.Poll(600);
        Assert.Equal(RaftRole.Candidate, second.Replica.Role);
    }

    [Fact]
    public void HandleEndQuorumEpoch_NotAPreferredSuccessor_WaitsTheWholeMaxBackoff()
    {
        var node = Follower(3);

        node.Replica.Handle(new RaftMessage(2, 3, 9, EndEpoch(leaderId: 2, epoch: 5, successors: [1])), 100);
        node.Replica.Poll(1099);
        Assert.Equal(RaftRole.Follower, node.Replica.Role);
        node.Replica.Poll(1100);

        Assert.Equal((RaftRole.Candidate, 6), (node.Replica.Role, node.Replica.Epoch));
    }

    [Fact]
    public void Poll_BeginQuorumEpochUnanswered_IsResentAfterTheRequestTimeout()
    {
        var node = new RaftTestNode(1, Three, seed: 1);
        node.Replica.Start(0);
        node.Replica.Poll(2000);
        var vote = node.Drain().First(m => m.Destination == 2);
        node.Replica.Handle(new RaftMessage(2, 1, vote.CorrelationId, VoteResponseFrom(granted: true, epoch: 1)), 2000);
        Assert.Equal(2, node.Drain().Count(m => m.Body is BeginQuorumEpochRequest));

        node.Replica.Poll(3999);
        Assert.Empty(node.Drain());
        node.Replica.Poll(4000);
        Assert.Empty(node.Drain());

        // Timed out at 4000 (controller.quorum.request.timeout.ms), then controller.quorum.retry.backoff.ms.
        node.Replica.Poll(4020);
        Assert.Equal([2, 3], node.Drain().Where(m => m.Body is BeginQuorumEpochRequest).Select(m => m.Destination).Order());
    }

    private static RaftTestNode Follower(int id)
    {
        var node = new RaftTestNode(id, Three, seed: id);
        node.Store.Write(new ElectionState(5, 2, -1));
        node.Replica.Start(0);
        node.Drain();
        return node;
    }

    private static EndQuorumEpochRequest EndEpoch(int leaderId, int epoch, int[] successors)
    {
        var partition = new EndQuorumEpochRequest.PartitionData { LeaderId = leaderId, LeaderEpoch = epoch };
        foreach (var id in successors)
        {
            partition.PreferredCandidates.Add(new EndQuorumEpochRequest.ReplicaInfo { CandidateId = id });
        }

        return new EndQuorumEpochRequest { Topics = [new EndQuorumEpochRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [partition] }] };
    }

    private static VoteResponse.PartitionData Vote(RaftTestNode node, int candidate, int epoch, int lastEpoch, long lastOffset)
    {
        var request = new VoteRequest
        {
            Topics =
            [
                new VoteRequest.TopicData
                {
                    TopicName = "__cluster_metadata",
                    Partitions =
                    [
                        new VoteRequest.PartitionData { CandidateId = candidate, CandidateEpoch = epoch, LastOffsetEpoch = lastEpoch, LastOffset = lastOffset },
                    ],
                },
            ],
        };
        node.Replica.Handle(new RaftMessage(candidate, node.Id, 5, request), 1);
        var response = node.Drain().Single(m => m.Body is VoteResponse);
        Assert.Equal(candidate, response.Destination);
        return ((VoteResponse)response.Body).Topics[0].Partitions[0];
    }

    private static VoteResponse VoteResponseFrom(bool granted, int epoch) => new()
    {
        Topics =
        [
            new VoteResponse.TopicData
            {
                TopicName = "__cluster_metadata",
                Partitions = [new VoteResponse.PartitionData { LeaderId = -1, LeaderEpoch = epoch, VoteGranted = granted }],
            },
        ],
    };
}

/// <summary>Builds requests the way another replica would. Stateless.</summary>
internal static class RaftProtocolAccess
{
    public static BeginQuorumEpochRequest Begin(int leaderId, int epoch) => new()
    {
        Topics =
        [
            new BeginQuorumEpochRequest.TopicData
            {
                TopicName = "__cluster_metadata",
                Partitions = [new BeginQuorumEpochRequest.PartitionData { LeaderId = leaderId, LeaderEpoch = epoch }],
            },
        ],
    };
}
