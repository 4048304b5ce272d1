using Broker.Cluster.Raft;
using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// Admin APIs on three in-process KRaft nodes over real sockets: UnregisterBroker forwarded to the active controller,
/// DescribeCluster from a follower, and forwarded APIs answering retriable errors while no controller is known.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QuorumAdminTests
{
    private readonly ITestOutputHelper _output;

    public QuorumAdminTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task UnregisterBroker_SentToAFollowerForAStoppedBroker_ForwardedAndDescribeClusterNoLongerListsIt()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Values.Count(b => !b.Fenced) == 3),
            "every node sees three unfenced brokers");
        var followers = cluster.RunningNodes.Where(n => n != leader).ToArray();
        var (stopped, asked) = (followers[0], followers[1]);
        await cluster.StopNodeAsync(stopped);

        var unregistered = await cluster.SendAsync<UnregisterBrokerResponse>(asked, new UnregisterBrokerRequest { BrokerId = stopped }, 0);

        Assert.Equal((short)ErrorCode.None, unregistered.ErrorCode);
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => !cluster.Node(n).Metadata.Brokers.ContainsKey(stopped)),
            $"every running node's image drops broker {stopped}");
        var described = await cluster.SendAsync<DescribeClusterResponse>(asked, new DescribeClusterRequest(), 1);
        Assert.Equal((short)ErrorCode.None, described.ErrorCode);
        Assert.Equal(RaftCluster.ClusterId, described.ClusterId);
        Assert.Equal(leader, described.ControllerId);
        Assert.Equal(cluster.RunningNodes.Order(), described.Brokers.Select(b => b.BrokerId).Order());

        // Once more: the controller no longer knows it.
        var again = await cluster.SendAsync<UnregisterBrokerResponse>(asked, new UnregisterBrokerRequest { BrokerId = stopped }, 0);
        Assert.Equal((short)ErrorCode.BrokerIdNotRegistered, again.ErrorCode);
    }

    [Fact]
    public async Task ForwardedAdminApis_NoQuorumLeader_RetriableErrorsAndTheConnectionStaysOpen()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Values.Count(b => !b.Fenced) == 3),
            "every node sees three unfenced brokers");
        var survivor = cluster.RunningNodes.First();
        foreach (var node in cluster.RunningNodes.Skip(1).ToArray())
        {
            await cluster.StopNodeAsync(node, controlledShutdown: false);
        }

        await InProcessCluster.WaitUntilAsync(() => cluster.Node(survivor).QuorumState!.Value is { LeaderId: < 0 } and not { Role: RaftRole.Leader },
            $"node {survivor} knows no quorum leader");
        await using var connection = cluster.ClientConnection(survivor);
        short[] retriable = [(short)ErrorCode.RequestTimedOut, (short)ErrorCode.NotController];

        using (var response = await connection.SendAsync<IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources = [new IncrementalAlterConfigsRequest.AlterConfigsResource
            {
                ResourceType = 2,
                ResourceName = "some-topic",
                Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "retention.ms", ConfigOperation = 0, Value = "1000" }],
            }],
        }, 1, CancellationToken.None))
        {
            var resource = Assert.Single(response.Message.Responses);
            Assert.Equal("some-topic", resource.ResourceName);
            Assert.Contains(resource.ErrorCode, retriable);
        }

        using (var response = await connection.SendAsync<DeleteTopicsResponse>(new DeleteTopicsRequest
        {
            Topics = [new DeleteTopicsRequest.DeleteTopicState { Name = "some-topic" }],
        }, 6, CancellationToken.None))
        {
            var topic = Assert.Single(response.Message.Responses);
            Assert.Equal("some-topic", topic.Name);
            Assert.Contains(topic.ErrorCode, retriable);
        }

        using (var response = await connection.SendAsync<ElectLeadersResponse>(new ElectLeadersRequest
        {
            TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = "some-topic", Partitions = [0] }],
        }, 2, CancellationToken.None))
        {
            Assert.Contains(response.Message.ErrorCode, retriable);
            Assert.Contains(Assert.Single(Assert.Single(response.Message.ReplicaElectionResults).PartitionResult).ErrorCode, retriable);
        }

        using (var response = await connection.SendAsync<UnregisterBrokerResponse>(new UnregisterBrokerRequest { BrokerId = 3 }, 0, CancellationToken.None))
        {
            Assert.Contains(response.Message.ErrorCode, retriable);
        }

        // Metadata is served locally all along, on the same connection.
        using var metadata = await connection.SendAsync<MetadataResponse>(new MetadataRequest(), 12, CancellationToken.None);
        Assert.Equal(-1, metadata.Message.ControllerId);
    }
}
