using System.Globalization;
using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>
/// One controller-only node (id 1) beside three broker-only nodes (ids 2-4), as Strimzi's node pools split them: the
/// quorum survives the loss of brokers, so the ISR can shrink below min.insync.replicas, and admin clients can bootstrap
/// from the controller (KIP-919). Not thread-safe: one instance per test.
/// </summary>
public sealed class SplitRolesTests
{
    private const int Controller = 1;
    private const string Topic = "split-roles";
    private readonly ITestOutputHelper _output;

    public SplitRolesTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task KillTwoOfThreeReplicas_AcksAllNotEnoughReplicasAcksOneServed_RestartOneAcksAllAgain()
    {
        await using var cluster = await ProcessCluster.StartSplitAsync(_output, controllers: 1, brokers: 3);
        await cluster.CreateTopicAsync(Topic, 1);
        var leader = cluster.Partition(Topic, 0).Leader;
        var others = cluster.BrokerNodes.Where(n => n != leader).ToArray();
        Assert.Equal(ErrorCode.NoError, await cluster.ProduceRawAsync(leader, Topic, 0, "before"));

        foreach (var node in others)
        {
            await cluster.KillAsync(node);
        }

        // The controller is alive, so the ISR shrinks to the leader (fenced brokers leave it; so do laggards).
        await cluster.WaitUntilAsync(() => cluster.Partition(Topic, 0).InSyncReplicas.SequenceEqual([leader]), $"the ISR of {Topic}-0 is [{leader}]");
        Assert.Equal(ErrorCode.NotEnoughReplicas, await cluster.ProduceRawAsync(leader, Topic, 0, "refused"));

        // min.insync.replicas only binds acks=all: an acks=1 producer is still served by the lone leader.
        var acksOne = KafkaClients.ProducerConfig(cluster.Bootstrap(leader), Acks.Leader);
        acksOne.EnableIdempotence = false;
        using (var producer = KafkaClients.Producer(acksOne, _output))
        {
            var delivered = await producer.ProduceAsync(Topic, new Message<string, string> { Key = "k", Value = "acks-one" });
            Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        }

        cluster.Start(others[0]);
        await cluster.WaitForInSyncAsync(Topic, 0, others[0]);
        Assert.Equal(ErrorCode.NoError, await cluster.ProduceRawAsync(leader, Topic, 0, "after"));

        // The refused write was never appended: the log holds exactly the three acknowledged records, in order.
        using var consumer = KafkaClients.Consumer(KafkaClients.ConsumerConfig(cluster.Bootstrap(leader)), _output);
        var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal(3, offsets.High.Value);
        var values = KafkaClients.ConsumeFromBeginning(cluster.Bootstrap(leader), _output, Topic, 3, TimeSpan.FromSeconds(30)).Select(r => r.Message.Value);
        Assert.Equal(["before", "acks-one", "after"], values);
    }

    [Fact]
    public async Task AdminCalls_OnControllerOnlyNode_ServedAsByKafkasControllerListener()
    {
        await using var cluster = await ProcessCluster.StartSplitAsync(_output, controllers: 1, brokers: 3);
        var controller = cluster.ControllerEndpoint(Controller);
        await cluster.CreateTopicAsync(Topic, 1);

        // The controller listener advertises the controller's APIs, not the broker's; a broker listener the reverse.
        var controllerApis = (await KafkaRequests.SendAsync<ApiVersionsResponse>(controller, new ApiVersionsRequest { ClientSoftwareName = "fault-tests", ClientSoftwareVersion = "1" }, 3)).ApiKeys.Select(k => (ApiKey)k.ApiKey).ToHashSet();
        Assert.Superset(new HashSet<ApiKey> { ApiKey.DescribeQuorum, ApiKey.DescribeCluster, ApiKey.DescribeConfigs, ApiKey.IncrementalAlterConfigs, ApiKey.ListPartitionReassignments, ApiKey.UnregisterBroker, ApiKey.CreateTopics, ApiKey.Vote }, controllerApis);
        Assert.DoesNotContain(ApiKey.Produce, controllerApis);
        Assert.DoesNotContain(ApiKey.Metadata, controllerApis);
        var brokerApis = (await cluster.SendAsync<ApiVersionsResponse>(2, new ApiVersionsRequest { ClientSoftwareName = "fault-tests", ClientSoftwareVersion = "1" }, 3)).ApiKeys.Select(k => (ApiKey)k.ApiKey).ToHashSet();
        Assert.Contains(ApiKey.Metadata, brokerApis);
        Assert.DoesNotContain(ApiKey.Vote, brokerApis);
        Assert.DoesNotContain(ApiKey.Envelope, brokerApis);

        // describeMetadataQuorum: the controller leads, the brokers are observers.
        var quorum = (await KafkaRequests.DescribeQuorumAsync(controller)).Topics[0].Partitions[0];
        Assert.Equal(0, quorum.ErrorCode);
        Assert.Equal(Controller, quorum.LeaderId);
        Assert.Equal([Controller], quorum.CurrentVoters.Select(v => v.ReplicaId));
        Assert.Superset(cluster.BrokerNodes.ToHashSet(), quorum.Observers.Select(o => o.ReplicaId).ToHashSet());

        // describeCluster with bootstrap.controllers: the controllers, and the quorum leader as the controller.
        var controllers = await KafkaRequests.SendAsync<DescribeClusterResponse>(controller, new DescribeClusterRequest { EndpointType = 2 }, 1);
        Assert.Equal(0, controllers.ErrorCode);
        Assert.Equal(Controller, controllers.ControllerId);
        Assert.Equal([(Controller, controller.Port)], controllers.Brokers.Select(b => (b.BrokerId, b.Port)));
        var mismatched = await KafkaRequests.SendAsync<DescribeClusterResponse>(controller, new DescribeClusterRequest { EndpointType = 1 }, 1);
        Assert.Equal((short)Broker.Protocol.ErrorCode.MismatchedEndpointType, mismatched.ErrorCode);
        var brokers = await cluster.SendAsync<DescribeClusterResponse>(2, new DescribeClusterRequest { EndpointType = 1 }, 1);
        Assert.Equal(cluster.BrokerNodes, brokers.Brokers.Select(b => b.BrokerId).Order());

        // describeConfigs of the controller's own node, and incrementalAlterConfigs through it for one broker and for all.
        var own = await KafkaRequests.SendAsync<DescribeConfigsResponse>(controller, DescribeBroker(Controller), 4);
        Assert.Equal(0, own.Results[0].ErrorCode);
        Assert.Equal("controller", own.Results[0].Configs.Single(c => c.Name == "process.roles").Value);
        var altered = await KafkaRequests.SendAsync<IncrementalAlterConfigsResponse>(controller, new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                SetBrokerConfig("3", "log.retention.ms", "3600000"),
                SetBrokerConfig(string.Empty, "log.segment.bytes", "52428800"),
            ],
        }, 1);
        Assert.All(altered.Responses, r => Assert.True(r.ErrorCode == 0, $"{r.ResourceName}: {r.ErrorCode} {r.ErrorMessage}"));
        await cluster.WaitUntilAsync(async () =>
        {
            var described = await cluster.Admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Broker, Name = "3" }]);
            var configs = described.Single().Entries;
            return configs["log.retention.ms"] is { Value: "3600000", Source: ConfigSource.DynamicBrokerConfig }
                && configs["log.segment.bytes"] is { Value: "52428800", Source: ConfigSource.DynamicDefaultBrokerConfig };
        }, "broker 3 describes the per-broker and cluster-wide values set through the controller");

        // listPartitionReassignments and unregisterBroker (of a stopped broker) through the controller.
        var reassignments = await KafkaRequests.SendAsync<ListPartitionReassignmentsResponse>(controller, new ListPartitionReassignmentsRequest { Topics = null }, 0);
        Assert.Equal(0, reassignments.ErrorCode);
        Assert.Empty(reassignments.Topics);
        await cluster.TerminateAsync(4);
        var unregistered = await KafkaRequests.SendAsync<UnregisterBrokerResponse>(controller, new UnregisterBrokerRequest { BrokerId = 4 }, 0);
        Assert.True(unregistered.ErrorCode == 0, $"UnregisterBroker: {unregistered.ErrorCode} {unregistered.ErrorMessage}");
        await cluster.WaitUntilAsync(async () =>
        {
            var described = await cluster.SendAsync<DescribeClusterResponse>(2, new DescribeClusterRequest { EndpointType = 1 }, 1);
            return described.Brokers.Select(b => b.BrokerId).Order().SequenceEqual([2, 3]);
        }, "broker 4 is gone from describeCluster");
    }

    private static DescribeConfigsRequest DescribeBroker(int node) => new()
    {
        Resources = [new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = (sbyte)ResourceType.Broker, ResourceName = node.ToString(CultureInfo.InvariantCulture), ConfigurationKeys = null }],
    };

    private static IncrementalAlterConfigsRequest.AlterConfigsResource SetBrokerConfig(string broker, string key, string value) => new()
    {
        ResourceType = (sbyte)ResourceType.Broker,
        ResourceName = broker,
        Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, ConfigOperation = 0, Value = value }],
    };
}
