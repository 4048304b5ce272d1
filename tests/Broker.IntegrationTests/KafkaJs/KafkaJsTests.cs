using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Wire;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.KafkaJs;

/// <summary>
/// KafkaJS 2.2 (a pure JavaScript client with its own protocol code: ApiVersions v2, Metadata v6, Produce v7,
/// ListOffsets v3, CreateTopics v3, DeleteTopics v1). Its consumer needs consumer groups, a later issue, so
/// what it produces is read back with librdkafka.
/// </summary>
public sealed class KafkaJsTests
{
    private const int RecordCount = 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _output;

    public KafkaJsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData("none", false)]
    [InlineData("gzip", false)]
    [InlineData("gzip", true)]
    public async Task KafkaJsProduceAndAdmin_Codec_RecordsOffsetsAndMetadataAsKafka(string codec, bool idempotent)
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic($"kjs-{codec}");

        var report = await RunKafkaJsAsync(broker.BootstrapServers, topic, codec, "keep", idempotent);
        if (idempotent)
        {
            await AssertOneProducerPerPartitionAsync(broker.BootstrapServers, topic);
        }

        Assert.True(report.GetProperty("created").GetBoolean());
        var acks = report.GetProperty("acks").EnumerateArray().ToList();
        Assert.Equal(2, acks.Count);
        Assert.All(acks, a =>
        {
            Assert.Equal(0, a.GetProperty("errorCode").GetInt32());
            Assert.Equal("0", a.GetProperty("baseOffset").GetString());
        });
        var partitions = report.GetProperty("metadata").GetProperty("topics")[0].GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(2, partitions.Count);
        Assert.All(partitions, p => Assert.Equal(1, p.GetProperty("leader").GetInt32()));
        Assert.All(report.GetProperty("offsets").EnumerateArray(), o =>
        {
            Assert.Equal("10", o.GetProperty("high").GetString());
            Assert.Equal("0", o.GetProperty("low").GetString());
        });

        // Record 10 (partition 0) and record 11 (partition 1) are the first at or after +10 ms: offset 5 in both,
        // even inside a compressed batch.
        Assert.All(report.GetProperty("byTime").EnumerateArray(), o => Assert.Equal("5", o.GetProperty("offset").GetString()));
        Assert.True(report.GetProperty("listed").GetBoolean());

        var consumed = KafkaClients.ConsumeFromBeginning(
            broker.BootstrapServers, _output, [new TopicPartition(topic, 0), new TopicPartition(topic, 1)], RecordCount, Timeout);
        Assert.Equal(RecordCount, consumed.Count);
        foreach (var record in consumed)
        {
            var i = int.Parse(record.Message.Key[1..], CultureInfo.InvariantCulture);
            Assert.Equal(i % 2, record.Partition.Value);
            Assert.Equal(i / 2, record.Offset.Value);
            Assert.Equal($"v{i}", record.Message.Value);
            Assert.Equal(1_700_000_000_000 + i, record.Message.Timestamp.UnixTimestampMs);
            var header = Assert.Single(record.Message.Headers);
            Assert.Equal("h", header.Key);
            Assert.Equal($"x{i}", Encoding.UTF8.GetString(header.GetValueBytes()));
        }
    }

    [Fact]
    public async Task KafkaJsAdmin_DeleteTopics_TopicGone()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("kjs-delete");

        var report = await RunKafkaJsAsync(broker.BootstrapServers, topic, "none", "delete");

        Assert.True(report.GetProperty("listed").GetBoolean());
        Assert.False(report.GetProperty("listedAfterDelete").GetBoolean());
    }

    /// <summary>DescribeProducers over the wire: KafkaJS really wrote as an idempotent producer (epoch 0, sequence 0-4).</summary>
    private static async Task AssertOneProducerPerPartitionAsync(string bootstrap, string topic)
    {
        await using var client = await WireClient.ConnectAsync(bootstrap);
        var response = await client.SendAsync<DescribeProducersResponse>((short)ApiKey.DescribeProducers, 0, new DescribeProducersRequest
        {
            Topics = [new DescribeProducersRequest.TopicRequest { Name = topic, PartitionIndexes = [0, 1] }],
        }, requestHeaderVersion: 2, responseHeaderVersion: 1);
        var partitions = Assert.Single(response.Topics).Partitions;
        Assert.Equal(2, partitions.Count);
        var producerIds = new HashSet<long>();
        foreach (var partition in partitions)
        {
            Assert.Equal(0, partition.ErrorCode);
            var producer = Assert.Single(partition.ActiveProducers);
            Assert.True(producer.ProducerId >= 0);
            Assert.Equal(0, producer.ProducerEpoch);
            Assert.Equal(RecordCount / 2 - 1, producer.LastSequence);
            producerIds.Add(producer.ProducerId);
        }

        Assert.Single(producerIds);
    }

    private async Task<JsonElement> RunKafkaJsAsync(string bootstrap, string topic, string codec, string mode, bool idempotent = false)
    {
        var (node, script) = RequireKafkaJs();
        var result = await ProcessRunner.RunAsync(
            node, [script, bootstrap, topic, RecordCount.ToString(CultureInfo.InvariantCulture), codec, mode, idempotent ? "idempotent" : "plain"], Timeout, _output);
        Assert.True(result.ExitCode == 0, $"kafkajs_client.js exited {result.ExitCode}: {result.StandardError}");
        return JsonDocument.Parse(result.StandardOutput.Trim()).RootElement.Clone();
    }

    /// <summary>node on PATH and kafkajs installed beside the script (make test runs npm ci there); fails loudly otherwise.</summary>
    private static (string Node, string Script) RequireKafkaJs()
    {
        var node = Environment.GetEnvironmentVariable("PATH")?.Split(':')
            .Select(dir => Path.Combine(dir, "node"))
            .FirstOrDefault(File.Exists);
        if (node is null)
        {
            Assert.Fail("Node.js is required for the KafkaJS tests but 'node' is not on PATH (apt-get install nodejs npm).");
        }

        var dir = Path.Combine(RepositoryPaths.Root, "tests", "Broker.IntegrationTests", "node");
        if (!File.Exists(Path.Combine(dir, "node_modules", "kafkajs", "package.json")))
        {
            Assert.Fail($"kafkajs is not installed in {dir}: run 'npm ci --prefix {dir}' (make test does this).");
        }

        return (node!, Path.Combine(dir, "kafkajs_client.js"));
    }
}
