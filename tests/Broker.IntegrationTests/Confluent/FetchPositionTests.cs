using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>Fetch from positions other than the start: inside a batch, past the end, and records above the partition fetch limit.</summary>
public sealed class FetchPositionTests
{
    private const int RecordCount = 300;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public FetchPositionTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Consume_AssignedOffsetInsideBatch_FirstRecordIsThatOffset()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("mid-batch");
        var baseTimestamp = await ProduceBatchedAsync(broker.BootstrapServers, topic, CompressionType.Zstd);

        // 137 is not a batch boundary (batches of 100): the broker serves the whole batch, the client skips to 137.
        const int start = 137;
        using var consumer = KafkaClients.Consumer(KafkaClients.ConsumerConfig(broker.BootstrapServers), _output);
        consumer.Assign(new TopicPartitionOffset(topic, 0, start));
        var records = ReadUpTo(consumer, RecordCount - start);
        Assert.Equal(RecordCount - start, records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            Assert.Equal(start + i, records[i].Offset.Value);
            Assert.Equal(TestRecords.Value(start + i), records[i].Message.Value);
            Assert.Equal(TestRecords.Timestamp(baseTimestamp, start + i), records[i].Message.Timestamp.UnixTimestampMs);
        }
    }

    [Fact]
    public async Task Consume_AssignedOffsetBeyondLogEnd_OffsetOutOfRangeResetsToEarliest()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("out-of-range");
        await ProduceBatchedAsync(broker.BootstrapServers, topic, CompressionType.None);

        // Only an OFFSET_OUT_OF_RANGE answer makes librdkafka apply auto.offset.reset; an empty answer would stall here.
        var config = KafkaClients.ConsumerConfig(broker.BootstrapServers);
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var consumer = KafkaClients.Consumer(config, _output);
        consumer.Assign(new TopicPartitionOffset(topic, 0, RecordCount + 1000));
        var records = ReadUpTo(consumer, RecordCount);
        Assert.Equal(RecordCount, records.Count);
        Assert.Equal(Enumerable.Range(0, RecordCount).Select(i => (long)i), records.Select(r => r.Offset.Value));
    }

    [Fact]
    public async Task Consume_RecordsLargerThanPartitionFetchLimit_EachStillDelivered()
    {
        const int count = 6;
        const int valueSize = 300 * 1024;
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("large");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        string ValueOf(int i) => string.Create(valueSize, i, (span, seed) =>
        {
            // Incompressible enough that batches stay large even with the default codec settings.
            var state = (uint)(seed + 1) * 2654435761u;
            for (var j = 0; j < span.Length; j++)
            {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                span[j] = (char)('!' + (state % 90));
            }
        });

        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output))
        {
            for (var i = 0; i < count; i++)
            {
                var result = await producer.ProduceAsync(topic, new Message<string, string> { Key = TestRecords.Key(i), Value = ValueOf(i) }).WaitAsync(Timeout);
                Assert.Equal(i, result.Offset.Value);
            }
        }

        // KIP-74: a first batch larger than max.partition.fetch.bytes / fetch.max.bytes is still returned whole.
        var config = KafkaClients.ConsumerConfig(broker.BootstrapServers);
        config.MaxPartitionFetchBytes = 64 * 1024;
        config.FetchMaxBytes = 128 * 1024;
        config.MessageMaxBytes = 64 * 1024; // librdkafka requires fetch.max.bytes >= message.max.bytes
        using var consumer = KafkaClients.Consumer(config, _output);
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var records = ReadUpTo(consumer, count);
        Assert.Equal(count, records.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i, records[i].Offset.Value);
            Assert.Equal(TestRecords.Key(i), records[i].Message.Key);
            Assert.True(ValueOf(i) == records[i].Message.Value, $"value of offset {i} differs ({records[i].Message.Value?.Length} chars read, {valueSize} written)");
        }
    }

    private async Task<long> ProduceBatchedAsync(string bootstrap, string topic, CompressionType compression)
    {
        await KafkaClients.CreateTopicAsync(bootstrap, _output, topic);
        var baseTimestamp = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
        var config = KafkaClients.ProducerConfig(bootstrap, compression: compression);
        config.BatchNumMessages = 100;
        config.LingerMs = 50;
        using var producer = KafkaClients.Producer(config, _output);
        var tasks = Enumerable.Range(0, RecordCount).Select(i => producer.ProduceAsync(topic, TestRecords.Message(i, baseTimestamp))).ToList();
        var results = await Task.WhenAll(tasks).WaitAsync(Timeout);
        Assert.Equal(RecordCount - 1, results[^1].Offset.Value);
        return baseTimestamp;
    }

    private static List<ConsumeResult<string, string>> ReadUpTo(IConsumer<string, string> consumer, int expected)
    {
        var records = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow + Timeout;
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is not null && !record.IsPartitionEOF)
            {
                records.Add(record);
            }
        }

        return records;
    }
}
