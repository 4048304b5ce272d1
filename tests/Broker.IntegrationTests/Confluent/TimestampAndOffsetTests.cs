using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>Broker-assigned timestamps (LogAppendTime topics) and ListOffsets by watermark and by timestamp.</summary>
public sealed class TimestampAndOffsetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ClockSlack = TimeSpan.FromSeconds(3);
    private readonly ITestOutputHelper _output;

    public TimestampAndOffsetTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Consume_LogAppendTimeTopic_TimestampsAreBrokerTime()
    {
        const int count = 50;
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("append-time");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, configs: new() { ["message.timestamp.type"] = "LogAppendTime" });

        // Producer timestamps from 2020: the broker must replace them with its own clock.
        var producerTimestamp = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var before = DateTimeOffset.UtcNow - ClockSlack;
        var reports = new List<DeliveryResult<string, string>>();
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers, compression: CompressionType.Lz4), _output))
        {
            var tasks = Enumerable.Range(0, count).Select(i => producer.ProduceAsync(topic, TestRecords.Message(i, producerTimestamp))).ToList();
            reports.AddRange(await Task.WhenAll(tasks).WaitAsync(Timeout));
        }

        var after = DateTimeOffset.UtcNow + ClockSlack;
        var records = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, topic, count, Timeout);
        Assert.Equal(count, records.Count);
        for (var i = 0; i < count; i++)
        {
            var record = records[i];
            Assert.Equal(i, record.Offset.Value);
            Assert.Equal(TestRecords.Key(i), record.Message.Key);
            Assert.Equal(TimestampType.LogAppendTime, record.Message.Timestamp.Type);
            AssertWithin(record.Message.Timestamp.UtcDateTime, before, after, $"consumed timestamp of offset {i}");
        }

        // Produce v2+ answers with log_append_time_ms; librdkafka reports it on the delivery result.
        Assert.All(reports, r =>
        {
            Assert.Equal(TimestampType.LogAppendTime, r.Timestamp.Type);
            AssertWithin(r.Timestamp.UtcDateTime, before, after, $"acknowledged timestamp of offset {r.Offset.Value}");
        });
    }

    [Fact]
    public async Task QueryWatermarkOffsetsAndOffsetsForTimes_KnownTimestamps_ReturnExpectedOffsets()
    {
        const int single = 10;
        const int batched = 10;
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("list-offsets");
        var partition = new TopicPartition(topic, 0);
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);

        // Timestamps 1 s apart; the first 10 records are one batch each, the next 10 share batches, so the
        // lookup must resolve inside a batch too.
        var baseTimestamp = new DateTimeOffset(2024, 3, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        long TimestampOf(int i) => baseTimestamp + (i * 1000L);
        var config = KafkaClients.ProducerConfig(broker.BootstrapServers);
        config.LingerMs = 50;
        using (var producer = KafkaClients.Producer(config, _output))
        {
            for (var i = 0; i < single; i++)
            {
                var result = await producer.ProduceAsync(topic, Message(i, TimestampOf(i))).WaitAsync(Timeout);
                Assert.Equal(i, result.Offset.Value);
            }

            var tasks = Enumerable.Range(single, batched).Select(i => producer.ProduceAsync(topic, Message(i, TimestampOf(i)))).ToList();
            var results = await Task.WhenAll(tasks).WaitAsync(Timeout);
            Assert.Equal(Enumerable.Range(single, batched).Select(i => (long)i), results.Select(r => r.Offset.Value));
        }

        using var consumer = KafkaClients.Consumer(KafkaClients.ConsumerConfig(broker.BootstrapServers), _output);
        var watermarks = consumer.QueryWatermarkOffsets(partition, Timeout);
        Assert.Equal(0, watermarks.Low.Value);
        Assert.Equal(single + batched, watermarks.High.Value);

        var total = single + batched;
        var queries = new List<(long Timestamp, long ExpectedOffset, string Why)>
        {
            (baseTimestamp - 60_000, 0, "before every record -> first offset"),
            (TimestampOf(total - 1) + 1, Offset.End.Value, "after every record -> no offset (-1)"),
        };
        for (var i = 0; i < total; i++)
        {
            queries.Add((TimestampOf(i), i, $"exact timestamp of offset {i}"));
            queries.Add((TimestampOf(i) - 500, i, $"between offsets {i - 1} and {i}"));
        }

        foreach (var (timestamp, expected, why) in queries)
        {
            var found = consumer.OffsetsForTimes([new TopicPartitionTimestamp(partition, new Timestamp(timestamp, TimestampType.CreateTime))], Timeout);
            var answer = Assert.Single(found);
            Assert.True(expected == answer.Offset.Value, $"OffsetsForTimes({timestamp}) — {why}: expected offset {expected}, broker answered {answer.Offset.Value}");
        }
    }

    private static Message<string, string> Message(int i, long timestamp) => new()
    {
        Key = TestRecords.Key(i),
        Value = TestRecords.Value(i),
        Timestamp = new Timestamp(timestamp, TimestampType.CreateTime),
    };

    private static void AssertWithin(DateTime actual, DateTimeOffset from, DateTimeOffset to, string what) =>
        Assert.True(actual >= from.UtcDateTime && actual <= to.UtcDateTime, $"{what} is {actual:O}, not within [{from:O}, {to:O}]");
}
