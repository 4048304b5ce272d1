using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.IntegrationTests.Confluent;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Python;

/// <summary>
/// kafka-python (Debian's python3-kafka, a pure-Python client with its own codec and protocol code) alone and
/// against librdkafka, both directions.
/// </summary>
public sealed class KafkaPythonTests
{
    private const int RecordCount = 200;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _output;

    public KafkaPythonTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task KafkaPythonProduceThenConsume_Codec_RecordsIntact(string codec)
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic($"py-{codec}");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        var baseTimestamp = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds();

        await ProduceWithPythonAsync(broker.BootstrapServers, topic, codec, baseTimestamp);

        var records = await ConsumeWithPythonAsync(broker.BootstrapServers, topic, RecordCount);
        Assert.Equal(RecordCount, records.Count);
        for (var i = 0; i < RecordCount; i++)
        {
            var record = records[i];
            Assert.Equal(i, record.Offset);
            Assert.Equal(TestRecords.Key(i), record.Key);
            Assert.Equal(TestRecords.Value(i), record.Value);
            Assert.Equal(TestRecords.Timestamp(baseTimestamp, i), record.Timestamp);
            Assert.Equal(0, record.TimestampType);
            Assert.Equal(new List<(string, string?)> { ("index", i.ToString(CultureInfo.InvariantCulture)), ("empty", string.Empty) }, record.Headers);
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("snappy")]
    [InlineData("zstd")]
    public async Task KafkaPythonProduceThenConfluentConsume_Codec_RecordsIntact(string codec)
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic($"py2cf-{codec}");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        var baseTimestamp = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds();

        await ProduceWithPythonAsync(broker.BootstrapServers, topic, codec, baseTimestamp);

        var records = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, topic, RecordCount, Timeout);
        Assert.Equal(RecordCount, records.Count);
        for (var i = 0; i < RecordCount; i++)
        {
            var record = records[i];
            Assert.Equal(i, record.Offset.Value);
            Assert.Equal(TestRecords.Key(i), record.Message.Key);
            Assert.Equal(TestRecords.Value(i), record.Message.Value);
            Assert.Equal(TimestampType.CreateTime, record.Message.Timestamp.Type);
            Assert.Equal(TestRecords.Timestamp(baseTimestamp, i), record.Message.Timestamp.UnixTimestampMs);
            Assert.Equal(2, record.Message.Headers.Count);
            Assert.Equal("index", record.Message.Headers[0].Key);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetString(record.Message.Headers[0].GetValueBytes()));
            Assert.Equal("empty", record.Message.Headers[1].Key);
            var empty = record.Message.Headers[1].GetValueBytes();
            Assert.NotNull(empty);
            Assert.Empty(empty);
        }
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Zstd)]
    public async Task ConfluentProduceThenKafkaPythonConsume_Codec_RecordsIntact(CompressionType compression)
    {
        await ExternalTools.RequirePythonKafkaAsync();
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic($"cf2py-{compression}".ToLowerInvariant());
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        var baseTimestamp = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds();
        var config = KafkaClients.ProducerConfig(broker.BootstrapServers, compression: compression);
        config.BatchNumMessages = 64;
        var failures = new List<string>();
        using (var producer = KafkaClients.Producer(config, _output))
        {
            for (var i = 0; i < RecordCount; i++)
            {
                var index = i;
                producer.Produce(topic, TestRecords.Message(i, baseTimestamp), report =>
                {
                    if (report.Error.IsError)
                    {
                        failures.Add($"record {index}: {report.Error}");
                    }
                });
            }

            Assert.Equal(0, producer.Flush(Timeout));
        }

        Assert.Empty(failures);

        var records = await ConsumeWithPythonAsync(broker.BootstrapServers, topic, RecordCount);
        Assert.Equal(RecordCount, records.Count);
        for (var i = 0; i < RecordCount; i++)
        {
            var record = records[i];
            Assert.Equal(i, record.Offset);
            Assert.Equal(TestRecords.Key(i), record.Key);
            Assert.Equal(TestRecords.Value(i), record.Value);
            Assert.Equal(TestRecords.Timestamp(baseTimestamp, i), record.Timestamp);
            Assert.Equal(0, record.TimestampType);
            Assert.Equal(new List<(string, string?)> { (TestRecords.IndexHeader, i.ToString(CultureInfo.InvariantCulture)), (TestRecords.NullHeader, null) }, record.Headers);
        }
    }

    private async Task ProduceWithPythonAsync(string bootstrap, string topic, string codec, long baseTimestamp)
    {
        var python = await ExternalTools.RequirePythonKafkaAsync();
        var result = await ProcessRunner.RunAsync(
            python,
            [Script, "produce", "--bootstrap", bootstrap, "--topic", topic, "--count", RecordCount.ToString(CultureInfo.InvariantCulture),
             "--compression", codec, "--base-timestamp", baseTimestamp.ToString(CultureInfo.InvariantCulture)],
            Timeout,
            _output,
            environment: ExternalTools.PythonEnvironment);
        Assert.True(result.ExitCode == 0, $"kafka-python producer failed: {result.Describe()}");
        var acks = JsonLines(result.StandardOutput);
        Assert.Equal(RecordCount, acks.Count);
        for (var i = 0; i < RecordCount; i++)
        {
            Assert.Equal(i, acks[i].GetProperty("index").GetInt32());
            Assert.Equal(0, acks[i].GetProperty("partition").GetInt32());
            Assert.Equal(i, acks[i].GetProperty("offset").GetInt64());
        }
    }

    [Fact]
    public async Task KafkaPythonGroupConsumer_ThreePartitions_ConsumesAllAndCommits()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("py-group");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, partitions: 3);
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output))
        {
            for (var i = 0; i < 90; i++)
            {
                producer.Produce(new TopicPartition(topic, i % 3), new Message<string, string> { Key = "k", Value = i.ToString(CultureInfo.InvariantCulture) });
            }

            Assert.Equal(0, producer.Flush(Timeout));
        }

        var group = KafkaClients.UniqueTopic("py-g");
        var python = await ExternalTools.RequirePythonKafkaAsync();
        var result = await ProcessRunner.RunAsync(
            python,
            [Script, "consume", "--bootstrap", broker.BootstrapServers, "--topic", topic, "--expected", "90", "--group", group, "--timeout-s", "40"],
            Timeout,
            _output,
            environment: ExternalTools.PythonEnvironment);
        Assert.True(result.ExitCode == 0, $"kafka-python group consumer failed: {result.Describe()}");

        var values = JsonLines(result.StandardOutput).Select(e => e.GetProperty("value").GetString()).ToHashSet();
        Assert.Equal(90, values.Count);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        var committed = await admin.ListConsumerGroupOffsetsAsync([new global::Confluent.Kafka.ConsumerGroupTopicPartitions(group, null)]);
        Assert.Equal([30L, 30L, 30L], Assert.Single(committed).Partitions.OrderBy(p => p.Partition.Value).Select(p => p.Offset.Value));
    }

    private async Task<List<PythonRecord>> ConsumeWithPythonAsync(string bootstrap, string topic, int expected)
    {
        var python = await ExternalTools.RequirePythonKafkaAsync();
        var result = await ProcessRunner.RunAsync(
            python,
            [Script, "consume", "--bootstrap", bootstrap, "--topic", topic, "--expected", expected.ToString(CultureInfo.InvariantCulture), "--timeout-s", "30"],
            Timeout,
            _output,
            environment: ExternalTools.PythonEnvironment);
        Assert.True(result.ExitCode == 0, $"kafka-python consumer failed: {result.Describe()}");
        return JsonLines(result.StandardOutput).Select(PythonRecord.From).ToList();
    }

    private static string Script => Path.Combine(AppContext.BaseDirectory, "python", "kafka_python_client.py");

    private static List<JsonElement> JsonLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseLine).ToList();

    private static JsonElement ParseLine(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    private sealed record PythonRecord(int Partition, long Offset, string? Key, string? Value, List<(string, string?)> Headers, long Timestamp, int TimestampType)
    {
        public static PythonRecord From(JsonElement e) => new(
            e.GetProperty("partition").GetInt32(),
            e.GetProperty("offset").GetInt64(),
            e.GetProperty("key").GetString(),
            e.GetProperty("value").GetString(),
            e.GetProperty("headers").EnumerateArray().Select(h => (h[0].GetString()!, h[1].GetString())).ToList(),
            e.GetProperty("timestamp").GetInt64(),
            e.GetProperty("timestamp_type").GetInt32());
    }
}
