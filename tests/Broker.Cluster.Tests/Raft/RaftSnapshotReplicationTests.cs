using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Raft;

/// <summary>Snapshots and FetchSnapshot between in-memory replicas, and observers that find the leader through
/// <c>controller.quorum.bootstrap.servers</c>.</summary>
public sealed class RaftSnapshotReplicationTests
{
    private static readonly QuorumConfig Three = TestQuorums.Of(1, 2, 3);

    [Fact]
    public void TryCreateSnapshot_AtTheDeliveredEnd_StoresItAndKeepsTheLog()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        Append(net, leader, 10);

        var id = leader.Replica.DeliveredEnd;
        var batches = leader.Log.BatchCount;
        Assert.False(leader.Replica.TryCreateSnapshot(id with { Offset = id.Offset - 1 }, [1]));
        Assert.True(leader.Replica.TryCreateSnapshot(id, leader.Listener.SnapshotContent()));

        // Kafka keeps the log until retention removes an older snapshot, which needs a second one.
        Assert.Equal(id, leader.Replica.LatestSnapshot);
        Assert.Equal(0, leader.Replica.LogStartOffset);
        Assert.Equal(batches, leader.Log.BatchCount);
        Assert.False(leader.Replica.TryCreateSnapshot(id, [1]));
    }

    [Fact]
    public void Poll_TwoSnapshotsOverTheRetentionBytes_OldestGoesAndTheLogStartsAtTheNext()
    {
        var config = Three with { Retention = new SnapshotRetention(0, -1), RetentionCheckIntervalMs = 1_000 };
        var net = new InstantNetwork(config, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        Append(net, leader, 5);
        var first = leader.Replica.DeliveredEnd;
        Assert.True(leader.Replica.TryCreateSnapshot(first, leader.Listener.SnapshotContent()));
        net.Advance(2_000);
        Assert.Equal([first], leader.Replica.Snapshots);
        Assert.Equal(0, leader.Replica.LogStartOffset);

        Append(net, leader, 5);
        var second = leader.Replica.DeliveredEnd;
        Assert.True(leader.Replica.TryCreateSnapshot(second, leader.Listener.SnapshotContent()));
        net.Advance(2_000);

        Assert.Equal([second], leader.Replica.Snapshots);
        Assert.Equal(second.Offset, leader.Replica.LogStartOffset);
    }

    [Fact]
    public void Fetch_FollowerBelowTheLogStart_DownloadsTheSnapshotInChunksAndContinuesAfterIt()
    {
        // 40-byte fetches: the snapshot (25 bytes per committed batch) comes in many FetchSnapshot chunks. Retention keeps
        // only the latest snapshot, so the log start passes the cut-off voter.
        var config = Three with { FetchMaxBytes = 40, Retention = new SnapshotRetention(0, -1), RetentionCheckIntervalMs = 1_000 };
        var net = new InstantNetwork(config, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        var lagging = net.Nodes.First(n => n != leader);
        net.Deliverable = m => m.Source != lagging.Id && m.Destination != lagging.Id;

        // Both connected nodes snapshot twice: the cut-off voter's elections may make either of them lead.
        for (var round = 0; round < 2; round++)
        {
            Append(net, leader, 6);
            foreach (var node in net.Nodes.Where(n => n != lagging))
            {
                Assert.True(node.Replica.TryCreateSnapshot(node.Replica.DeliveredEnd, node.Listener.SnapshotContent()));
            }
        }

        var snapshot = leader.Replica.LatestSnapshot!.Value;
        var chunks = 0;
        net.Deliverable = m =>
        {
            chunks += m.Body is FetchSnapshotResponse ? 1 : 0;
            return true;
        };

        net.Advance(10_000);

        Assert.True(chunks > 5, $"{chunks} chunks; " + string.Join("; ", net.Nodes.Select(n => $"{n.Id} {n.Replica.Role} e{n.Replica.Epoch} l{n.Replica.LeaderId} end {n.Log.EndOffset} start {n.Log.StartOffset} snap {n.Replica.LatestSnapshot}")));
        Assert.Equal(snapshot, lagging.Replica.LatestSnapshot);
        Assert.Equal(snapshot.Offset, lagging.Replica.LogStartOffset);
        Assert.Equal([snapshot], lagging.Listener.Snapshots);
        var current = net.Nodes.Single(n => n.Replica.Role == RaftRole.Leader);
        Append(net, current, 1);
        Assert.Equal(current.Listener.Committed, lagging.Listener.Committed);
        Assert.Equal(current.Log.EndOffset, lagging.Log.EndOffset);
    }

    [Fact]
    public void Fetch_FollowerBehindWhileRetentionKeepsTheLog_CatchesUpFromTheLogWithoutASnapshot()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        var lagging = net.Nodes.First(n => n != leader);
        net.Deliverable = m => m.Source != lagging.Id && m.Destination != lagging.Id;
        for (var round = 0; round < 2; round++)
        {
            Append(net, leader, 6);
            foreach (var node in net.Nodes.Where(n => n != lagging))
            {
                Assert.True(node.Replica.TryCreateSnapshot(node.Replica.DeliveredEnd, node.Listener.SnapshotContent()));
            }
        }

        net.Deliverable = _ => true;
        net.Advance(10_000);

        var current = net.Nodes.Single(n => n.Replica.Role == RaftRole.Leader);
        Assert.Equal(2, current.Replica.Snapshots.Count);
        Assert.Equal(0, current.Replica.LogStartOffset);
        Assert.Empty(lagging.Listener.Snapshots);
        Assert.Equal(current.Listener.Committed, lagging.Listener.Committed);
    }

    [Fact]
    public void FetchSnapshot_UnknownSnapshotOrBadPosition_AnswersSnapshotNotFoundOrPositionOutOfRange()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        Append(net, leader, 3);
        var id = leader.Replica.DeliveredEnd;
        Assert.True(leader.Replica.TryCreateSnapshot(id, leader.Listener.SnapshotContent()));
        var follower = net.Nodes.First(n => n != leader).Id;

        short Ask(OffsetAndEpoch snapshot, long position)
        {
            var request = new FetchSnapshotRequest { ClusterId = null, ReplicaId = follower, MaxBytes = 1000 };
            var partition = new FetchSnapshotRequest.PartitionSnapshot { CurrentLeaderEpoch = leader.Replica.Epoch, Position = position };
            partition.SnapshotId.EndOffset = snapshot.Offset;
            partition.SnapshotId.Epoch = snapshot.Epoch;
            request.Topics.Add(new FetchSnapshotRequest.TopicSnapshot { Name = "__cluster_metadata", Partitions = [partition] });
            leader.Replica.Handle(new RaftMessage(follower, leader.Id, 77, request), net.Time.NowMs);
            var answer = leader.Drain().Single(m => m.CorrelationId == 77);
            var data = ((FetchSnapshotResponse)answer.Body).Topics[0].Partitions[0];
            return data.ErrorCode;
        }

        Assert.Equal((short)ErrorCode.None, Ask(id, 0));
        Assert.Equal((short)98, Ask(id with { Offset = id.Offset - 1 }, 0));
        Assert.Equal((short)99, Ask(id, 1_000_000));
    }

    [Fact]
    public void Observer_OnlyBootstrapServers_FindsTheLeaderThroughOneAndReplicates()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        var bootstrap = new QuorumConfig([]) { BootstrapServers = QuorumConfig.ParseBootstrapServers("localhost:9094,localhost:9095") };
        net[100] = new RaftTestNode(100, bootstrap, seed: 100);
        net.Aliases[-2] = 1;
        net.Aliases[-3] = 2;
        net.StartAll();
        var leader = net.ElectLeader();
        Append(net, leader, 4);
        net.Advance(1_500);

        var observer = net[100];
        Assert.False(observer.Replica.IsVoter);
        Assert.Equal(RaftRole.Follower, observer.Replica.Role);
        Assert.Equal(leader.Id, observer.Replica.LeaderId);
        Assert.Equal(leader.Listener.Committed, observer.Listener.Committed);
    }

    [Fact]
    public void Fetch_AnyAnswer_NamesTheLeadersEndpoint()
    {
        var net = new InstantNetwork(Three, [1, 2, 3]);
        net.StartAll();
        var leader = net.ElectLeader();
        var follower = net.Nodes.First(n => n != leader);
        var request = new FetchRequest { MaxWaitMs = 0, ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = 100 } };
        request.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = "__cluster_metadata",
            Partitions = [new FetchRequest.FetchPartition { CurrentLeaderEpoch = 0, FetchOffset = 0, LastFetchedEpoch = 0 }],
        });

        follower.Replica.Handle(new RaftMessage(100, follower.Id, 5, request), net.Time.NowMs);
        var answer = (FetchResponse)follower.Drain().Single(m => m.CorrelationId == 5).Body;

        var endpoint = Assert.Single(answer.NodeEndpoints);
        Assert.Equal((leader.Id, "localhost", 9093 + leader.Id), (endpoint.NodeId, endpoint.Host, endpoint.Port));
    }

    [Theory]
    [InlineData("h1:9093,[::1]:9094", 2)]
    [InlineData("", 0)]
    public void ParseBootstrapServers_Valid_NumbersThemFromMinusTwo(string value, int count)
    {
        var servers = QuorumConfig.ParseBootstrapServers(value);

        Assert.Equal(count, servers.Count);
        if (count == 2)
        {
            Assert.Equal(new VoterEndpoint(-2, "h1", 9093), servers[0]);
            Assert.Equal(new VoterEndpoint(-3, "::1", 9094), servers[1]);
        }
    }

    [Theory]
    [InlineData("h1")]
    [InlineData("h1:")]
    [InlineData(":9093")]
    [InlineData("h1:99999")]
    public void ParseBootstrapServers_Malformed_ThrowsNamingTheKey(string value)
    {
        var error = Assert.Throws<FormatException>(() => QuorumConfig.ParseBootstrapServers(value));

        Assert.Contains("controller.quorum.bootstrap.servers", error.Message, StringComparison.Ordinal);
    }

    private static void Append(InstantNetwork net, RaftTestNode leader, int batches)
    {
        for (var i = 0; i < batches; i++)
        {
            Assert.True(leader.Replica.TryAppend([RaftTestData.Value(i)], net.Time.NowMs, out _));
            net.Advance(50);
        }

        net.Advance(600);
    }
}
