using System.Globalization;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>librdkafka producing and consuming through the broker, record by record, for every codec and ack mode.</summary>
public sealed class ProduceConsumeTests
{
    private const int RecordCount = 500;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public ProduceConsumeTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData(CompressionType.None, Acks.All)]
    [InlineData(CompressionType.Gzip, Acks.All)]
    [InlineData(CompressionType.Snappy, Acks.All)]
    [InlineData(CompressionType.Lz4, Acks.All)]
    [InlineData(CompressionType.Zstd, Acks.All)]
    [InlineData(CompressionType.Gzip, Acks.Leader)]
    [InlineData(CompressionType.Lz4, Acks.None)]
    public async Task ProduceThenConsume_CompressionAndAcks_EveryRecordReadBackIntact(CompressionType compression, Acks acks)
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("records");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        var baseTimestamp = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();

        var config = KafkaClients.ProducerConfig(broker.BootstrapServers, acks, compression);
        config.BatchNumMessages = 100; // several batches, so offsets must continue across batch boundaries
        var reports = new DeliveryReport<string, string>?[RecordCount];
        using (var producer = KafkaClients.Producer(config, _output))
        {
            for (var i = 0; i < RecordCount; i++)
            {
                var index = i;
                producer.Produce(topic, TestRecords.Message(i, baseTimestamp), report => reports[index] = report);
            }

            Assert.Equal(0, producer.Flush(Timeout));
        }

        for (var i = 0; i < RecordCount; i++)
        {
            var report = reports[i];
            Assert.NotNull(report);
            Assert.False(report.Error.IsError, $"record {i} was not acknowledged: {report.Error}");
            if (acks != Acks.None)
            {
                // acks=0 gets no offsets back; with acks>=1 the broker's answer must match the log.
                Assert.Equal(i, report.Offset.Value);
                Assert.Equal(PersistenceStatus.Persisted, report.Status);
            }
        }

        var records = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, topic, RecordCount, Timeout);
        TestRecords.AssertAll(records, RecordCount, baseTimestamp);

        using var watermarkConsumer = KafkaClients.Consumer(KafkaClients.ConsumerConfig(broker.BootstrapServers), _output);
        var watermarks = watermarkConsumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), Timeout);
        Assert.Equal(0, watermarks.Low.Value);
        Assert.Equal(RecordCount, watermarks.High.Value);
    }
}

/// <summary>The keyed records with headers and explicit CreateTime timestamps that several tests send. Thread-safe.</summary>
internal static class TestRecords
{
    public const string IndexHeader = "index";
    public const string NullHeader = "null-header";

    public static string Key(int i) => $"key-{i:D5}";

    // Varying lengths and repetition give the codecs something to do.
    public static string Value(int i) => $"value-{i}-{new string((char)('a' + (i % 26)), i % 97)}";

    public static long Timestamp(long baseTimestamp, int i) => baseTimestamp + (i * 7L);

    public static Message<string, string> Message(int i, long baseTimestamp) => new()
    {
        Key = Key(i),
        Value = Value(i),
        Timestamp = new Timestamp(Timestamp(baseTimestamp, i), TimestampType.CreateTime),
        Headers = new Headers
        {
            { IndexHeader, Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture)) },
            { NullHeader, null },
        },
    };

    public static void AssertAll(IReadOnlyList<ConsumeResult<string, string>> records, int count, long baseTimestamp, int partition = 0)
    {
        Assert.True(records.Count == count, $"expected {count} records, consumed {records.Count}");
        for (var i = 0; i < count; i++)
        {
            var record = records[i];
            Assert.Equal(partition, record.Partition.Value);
            Assert.Equal(i, record.Offset.Value);
            Assert.Equal(Key(i), record.Message.Key);
            Assert.Equal(Value(i), record.Message.Value);
            Assert.Equal(TimestampType.CreateTime, record.Message.Timestamp.Type);
            Assert.Equal(Timestamp(baseTimestamp, i), record.Message.Timestamp.UnixTimestampMs);
            var headers = record.Message.Headers;
            Assert.Equal(2, headers.Count);
            Assert.Equal(IndexHeader, headers[0].Key);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetString(headers[0].GetValueBytes()));
            Assert.Equal(NullHeader, headers[1].Key);
            Assert.Null(headers[1].GetValueBytes());
        }
    }
}
