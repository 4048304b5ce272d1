using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>DeleteRecords through librdkafka's AdminClient: low watermark, consumers below it, errors.</summary>
public sealed class DeleteRecordsTests
{
    private readonly ITestOutputHelper _output;

    public DeleteRecordsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private static async Task ProduceAsync(string bootstrap, ITestOutputHelper output, string topic, int count)
    {
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(bootstrap), output);
        for (var i = 0; i < count; i++)
        {
            await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = $"v{i}" });
        }
    }

    [Fact]
    public async Task DeleteRecordsAsync_MidLog_LowWatermarkMovesAndConsumerStartsThere()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("delrec");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        await ProduceAsync(broker.BootstrapServers, _output, topic, 10);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var results = await admin.DeleteRecordsAsync([new TopicPartitionOffset(topic, 0, 6)]);

        Assert.Equal(6, Assert.Single(results).Offset.Value);
        var consumed = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, topic, 4, TimeSpan.FromSeconds(20));
        Assert.Equal([6L, 7L, 8L, 9L], consumed.Select(r => r.Offset.Value));
        Assert.Equal("v6", consumed[0].Message.Value);
        using var probe = KafkaClients.Consumer(KafkaClients.ConsumerConfig(broker.BootstrapServers), _output);
        var watermarks = probe.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(5));
        Assert.Equal((6L, 10L), (watermarks.Low.Value, watermarks.High.Value));
    }

    [Fact]
    public async Task DeleteRecordsAsync_OffsetEnd_DeletesUpToHighWatermark()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("delend");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        await ProduceAsync(broker.BootstrapServers, _output, topic, 5);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var results = await admin.DeleteRecordsAsync([new TopicPartitionOffset(topic, 0, Offset.End)]);

        Assert.Equal(5, Assert.Single(results).Offset.Value);
    }

    [Fact]
    public async Task DeleteRecordsAsync_AboveHighWatermark_OffsetOutOfRangeAndNothingDeleted()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("delbad");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        await ProduceAsync(broker.BootstrapServers, _output, topic, 3);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var error = await Assert.ThrowsAsync<DeleteRecordsException>(() => admin.DeleteRecordsAsync([new TopicPartitionOffset(topic, 0, 50)]));

        Assert.Equal(ErrorCode.OffsetOutOfRange, Assert.Single(error.Results).Error.Code);
        using var probe = KafkaClients.Consumer(KafkaClients.ConsumerConfig(broker.BootstrapServers), _output);
        Assert.Equal(0, probe.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(5)).Low.Value);
    }
}
