using System.Globalization;
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

    [Theory]
    [InlineData((short)44)]
    [InlineData((short)33)]
    public async Task AlterConfigs_SentToAFollowerNamingAnotherBroker_RefusedThereTheRestForwardedInOrder(short apiKey)
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        var asked = cluster.RunningNodes.First(n => n != leader);
        var other = cluster.RunningNodes.First(n => n != leader && n != asked);
        (sbyte Type, string Name)[] resources = [(4, other.ToString(CultureInfo.InvariantCulture)), (4, ""), (4, "x"), (4, asked.ToString(CultureInfo.InvariantCulture))];

        var answers = await AlterLogRetentionAsync(cluster, asked, apiKey, resources);

        // As Kafka's ConfigAdminManager.preprocess on the receiving broker: another broker's id, or no number at all, is refused
        // there; cluster-wide and this broker's own resources are forwarded and committed by the active controller.
        Assert.Equal(resources.Select(r => r.Name), answers.Select(a => a.Name));
        Assert.Equal((ErrorCode.InvalidRequest, $"Unexpected broker id, expected {asked}, but received {other}"), (answers[0].Error, answers[0].Message));
        Assert.Equal(ErrorCode.None, answers[1].Error);
        Assert.Equal((ErrorCode.InvalidRequest, "Node id must be an integer, but it is: x"), (answers[2].Error, answers[2].Message));
        Assert.Equal(ErrorCode.None, answers[3].Error);
        await InProcessCluster.WaitUntilAsync(() => cluster.Node(asked).Metadata.BrokerConfigsFor(asked.ToString(CultureInfo.InvariantCulture)).ContainsKey("log.retention.ms")
            && cluster.Node(asked).Metadata.BrokerConfigsFor("").ContainsKey("log.retention.ms"), "the forwarded resources are committed");
        Assert.False(cluster.Node(asked).Metadata.BrokerConfigsFor(other.ToString(CultureInfo.InvariantCulture)).ContainsKey("log.retention.ms"));

        // Only refused resources: answered without forwarding.
        var refused = await AlterLogRetentionAsync(cluster, asked, apiKey, [(4, other.ToString(CultureInfo.InvariantCulture))]);
        Assert.Equal(ErrorCode.InvalidRequest, Assert.Single(refused).Error);
    }

    private static async Task<List<(string Name, ErrorCode Error, string? Message)>> AlterLogRetentionAsync(
        RaftCluster cluster, int node, short apiKey, (sbyte Type, string Name)[] resources)
    {
        if (apiKey == 44)
        {
            var request = new IncrementalAlterConfigsRequest();
            request.Resources.AddRange(resources.Select(r => new IncrementalAlterConfigsRequest.AlterConfigsResource
            {
                ResourceType = r.Type,
                ResourceName = r.Name,
                Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "log.retention.ms", ConfigOperation = 0, Value = "3600000" }],
            }));
            var response = await cluster.SendAsync<IncrementalAlterConfigsResponse>(node, request, 1);
            return [.. response.Responses.Select(r => (r.ResourceName, (ErrorCode)r.ErrorCode, r.ErrorMessage))];
        }

        var legacy = new AlterConfigsRequest();
        legacy.Resources.AddRange(resources.Select(r => new AlterConfigsRequest.AlterConfigsResource
        {
            ResourceType = r.Type,
            ResourceName = r.Name,
            Configs = [new AlterConfigsRequest.AlterableConfig { Name = "log.retention.ms", Value = "3600000" }],
        }));
        var answer = await cluster.SendAsync<AlterConfigsResponse>(node, legacy, 2);
        return [.. answer.Responses.Select(r => (r.ResourceName, (ErrorCode)r.ErrorCode, r.ErrorMessage))];
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
