using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>Retention in the background: old segments go, the log start moves, consumers before it reset.</summary>
public sealed class RetentionTests
{
    private readonly ITestOutputHelper _output;

    public RetentionTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task RetentionBytes_SegmentsRolledAndDeleted_LogStartMovesAndEarliestConsumerResets()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("log.retention.check.interval.ms", "200"));
        var topic = KafkaClients.UniqueTopic("retention");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 1, new Dictionary<string, string>
        {
            ["segment.bytes"] = "1048576",
            ["retention.bytes"] = "1048576",
        });
        const int count = 4000;
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output))
        {
            var value = new string('v', 1000);
            for (var i = 0; i < count; i++)
            {
                producer.Produce(topic, new Message<string, string> { Key = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Value = value });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var partition = new TopicPartition(topic, 0);
        var partitionDir = Path.Combine(broker.LogDir, $"{topic}-0");
        WatermarkOffsets watermarks;
        int segments;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        using (var probe = KafkaClients.Consumer(KafkaClients.ConsumerConfig(broker.BootstrapServers), _output))
        {
            // One retention pass may remove the breaching segments one after another: the log start moves with the
            // first, so wait for the pass to finish rather than sampling the directory in the middle of it.
            do
            {
                await Task.Delay(200);
                watermarks = probe.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(5));
                segments = Directory.EnumerateFiles(partitionDir, "*.log").Count();
            }
            while ((watermarks.Low.Value == 0 || segments > 2) && DateTime.UtcNow < deadline);
        }

        Assert.True(watermarks.Low.Value > 0, "retention never moved the log start offset");
        Assert.Equal(count, watermarks.High.Value);
        Assert.InRange(segments, 1, 2);

        // A consumer positioned at 0 (now below the log start) gets OFFSET_OUT_OF_RANGE and resets to earliest.
        var config = KafkaClients.ConsumerConfig(broker.BootstrapServers);
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var consumer = KafkaClients.Consumer(config, _output);
        consumer.Assign(new TopicPartitionOffset(partition, 0));
        var first = consumer.Consume(TimeSpan.FromSeconds(15));
        Assert.NotNull(first);
        Assert.Equal(watermarks.Low.Value, first.Offset.Value);
    }
}
