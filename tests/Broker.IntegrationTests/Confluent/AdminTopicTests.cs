using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>Topic lifecycle through librdkafka's AdminClient: CreateTopics, Metadata, Produce/Fetch per partition, DeleteTopics.</summary>
public sealed class AdminTopicTests
{
    private const int PerPartition = 40;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public AdminTopicTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task CreateTopicsAsync_ThreePartitions_ListedWritableReadableThenDeleted()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("admin");
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = 3, ReplicationFactor = 1 }],
            new CreateTopicsOptions { RequestTimeout = Timeout, OperationTimeout = Timeout }).WaitAsync(Timeout);

        var all = admin.GetMetadata(Timeout);
        Assert.Contains(all.Brokers, b => b.BrokerId == 1 && $"{b.Host}:{b.Port}" == broker.BootstrapServers);
        var listed = Assert.Single(all.Topics, t => t.Topic == topic);
        Assert.False(listed.Error.IsError, $"metadata reports an error for the new topic: {listed.Error}");
        Assert.Equal([0, 1, 2], listed.Partitions.Select(p => p.PartitionId).Order());
        Assert.All(listed.Partitions, p =>
        {
            Assert.Equal(1, p.Leader);
            Assert.Equal([1], p.Replicas);
            Assert.Equal([1], p.InSyncReplicas);
        });

        var baseTimestamp = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds();
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output))
        {
            for (var partition = 0; partition < 3; partition++)
            {
                var tasks = new List<Task<DeliveryResult<string, string>>>();
                for (var i = 0; i < PerPartition; i++)
                {
                    tasks.Add(producer.ProduceAsync(new TopicPartition(topic, partition), TestRecords.Message(i, baseTimestamp)));
                }

                var results = await Task.WhenAll(tasks).WaitAsync(Timeout);
                for (var i = 0; i < PerPartition; i++)
                {
                    Assert.Equal(partition, results[i].Partition.Value);
                    Assert.Equal(i, results[i].Offset.Value);
                }
            }
        }

        var partitions = Enumerable.Range(0, 3).Select(p => new TopicPartition(topic, p)).ToList();
        var consumed = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, partitions, 3 * PerPartition, Timeout);
        Assert.Equal(3 * PerPartition, consumed.Count);
        foreach (var group in consumed.GroupBy(r => r.Partition.Value))
        {
            TestRecords.AssertAll(group.ToList(), PerPartition, baseTimestamp, group.Key);
        }

        await admin.DeleteTopicsAsync([topic], new DeleteTopicsOptions { RequestTimeout = Timeout, OperationTimeout = Timeout }).WaitAsync(Timeout);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var after = admin.GetMetadata(Timeout);
        while (after.Topics.Any(t => t.Topic == topic) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            after = admin.GetMetadata(Timeout);
        }

        Assert.DoesNotContain(after.Topics, t => t.Topic == topic);
    }

    [Fact]
    public async Task CreateTopicsAsync_ExistingName_FailsWithTopicAlreadyExists()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("dup");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, partitions: 2);

        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        var error = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = 5, ReplicationFactor = 1 }],
            new CreateTopicsOptions { RequestTimeout = Timeout, OperationTimeout = Timeout }).WaitAsync(Timeout));
        Assert.Equal(ErrorCode.TopicAlreadyExists, Assert.Single(error.Results).Error.Code);

        var metadata = admin.GetMetadata(topic, Timeout);
        Assert.Equal(2, Assert.Single(metadata.Topics).Partitions.Count);
    }
}
