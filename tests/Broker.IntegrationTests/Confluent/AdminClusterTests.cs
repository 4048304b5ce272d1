using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>CreatePartitions and DescribeCluster through librdkafka's AdminClient.</summary>
public sealed class AdminClusterTests
{
    private readonly ITestOutputHelper _output;

    public AdminClusterTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task CreatePartitionsAsync_GrowTopic_NewPartitionsServeRecords()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("grow");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 2);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = topic, IncreaseTo = 5 }]);

        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        Assert.Equal(5, Assert.Single(metadata.Topics).Partitions.Count);
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output))
        {
            await producer.ProduceAsync(new TopicPartition(topic, 4), new Message<string, string> { Key = "k", Value = "in partition 4" });
        }

        var consumed = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, [new TopicPartition(topic, 4)], 1, TimeSpan.FromSeconds(15));
        Assert.Equal("in partition 4", Assert.Single(consumed).Message.Value);
    }

    [Fact]
    public async Task CreatePartitionsAsync_DecreaseOrSameOrMissing_KafkaErrors()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("shrink");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 3);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var error = await Assert.ThrowsAsync<CreatePartitionsException>(() => admin.CreatePartitionsAsync(
        [
            new PartitionsSpecification { Topic = topic, IncreaseTo = 2 },
            new PartitionsSpecification { Topic = "no-such-topic", IncreaseTo = 2 },
        ]));

        var byTopic = error.Results.ToDictionary(r => r.Topic, r => r.Error.Code);
        Assert.Equal(ErrorCode.InvalidPartitions, byTopic[topic]);
        Assert.Equal(ErrorCode.UnknownTopicOrPart, byTopic["no-such-topic"]);
        var same = await Assert.ThrowsAsync<CreatePartitionsException>(() => admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = topic, IncreaseTo = 3 }]));
        Assert.Equal(ErrorCode.InvalidPartitions, Assert.Single(same.Results).Error.Code);
        Assert.Equal(3, Assert.Single(admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics).Partitions.Count);
    }

    [Fact]
    public async Task DescribeClusterAsync_ReportsClusterIdControllerAndBroker()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var cluster = await admin.DescribeClusterAsync(new DescribeClusterOptions { IncludeAuthorizedOperations = true });

        Assert.Equal(broker.Broker.Metadata.ClusterId, cluster.ClusterId);
        Assert.Equal(1, cluster.Controller.Id);
        var node = Assert.Single(cluster.Nodes);
        Assert.Equal($"{node.Host}:{node.Port}", broker.BootstrapServers);
        Assert.NotNull(cluster.AuthorizedOperations);
        AclOperation[] clusterOperations =
        [
            AclOperation.Create, AclOperation.Alter, AclOperation.Describe, AclOperation.ClusterAction,
            AclOperation.DescribeConfigs, AclOperation.AlterConfigs, AclOperation.IdempotentWrite,
        ];
        Assert.Equal(clusterOperations.Order(), cluster.AuthorizedOperations.Order());
    }
}
