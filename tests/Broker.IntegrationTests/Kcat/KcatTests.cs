using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Kcat;

/// <summary>kcat (Debian's build, its own librdkafka) as producer, consumer and metadata client.</summary>
public sealed class KcatTests
{
    private const int LineCount = 300;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _output;

    public KcatTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task ProduceKeyedLinesThenConsume_Codec_OutputMatchesExactly(string codec)
    {
        var kcat = ExternalTools.RequireKcat();
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic($"kcat-{codec}");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);

        var lines = KeyedLines().ToList();
        var produce = await ProcessRunner.RunAsync(
            kcat,
            ["-b", broker.BootstrapServers, "-t", topic, "-p", "0", "-P", "-K:", "-z", codec, "-X", "acks=all"],
            Timeout,
            _output,
            standardInput: string.Concat(lines.Select(l => $"{l.Key}:{l.Value}\n")));
        Assert.True(produce.ExitCode == 0, $"kcat -P failed: {produce.Describe()}");

        var consume = await ProcessRunner.RunAsync(
            kcat,
            ["-b", broker.BootstrapServers, "-t", topic, "-C", "-o", "beginning", "-e", "-q", "-f", "%p/%o %k=%s\\n"],
            Timeout,
            _output);
        Assert.True(consume.ExitCode == 0, $"kcat -C failed: {consume.Describe()}");
        var expected = string.Concat(lines.Select((l, i) => $"0/{i} {l.Key}={l.Value}\n"));
        AssertSameLines(expected, consume.StandardOutput);

        var plain = await ProcessRunner.RunAsync(
            kcat,
            ["-b", broker.BootstrapServers, "-t", topic, "-C", "-e", "-q", "-f", "%k=%s\\n"],
            Timeout,
            _output);
        Assert.True(plain.ExitCode == 0, $"kcat -C failed: {plain.Describe()}");
        Assert.Equal(string.Concat(lines.Select(l => $"{l.Key}={l.Value}\n")), plain.StandardOutput);
    }

    [Fact]
    public async Task BalancedConsumer_GroupMode_ConsumesEveryPartitionAndCommits()
    {
        var kcat = ExternalTools.RequireKcat();
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("kcat-group");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, partitions: 3);
        var produce = await ProcessRunner.RunAsync(
            kcat,
            ["-b", broker.BootstrapServers, "-t", topic, "-P", "-K:", "-X", "acks=all"],
            Timeout,
            _output,
            standardInput: string.Concat(Enumerable.Range(0, 60).Select(i => $"k{i}:v{i}\n")));
        Assert.True(produce.ExitCode == 0, $"kcat -P failed: {produce.Describe()}");

        var group = KafkaClients.UniqueTopic("kcat-g");
        var consume = await ProcessRunner.RunAsync(
            kcat,
            ["-b", broker.BootstrapServers, "-G", group, "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", "-e", "-q", "-f", "%s\n", topic],
            Timeout,
            _output);
        Assert.True(consume.ExitCode == 0, $"kcat -G failed: {consume.Describe()}");

        var values = consume.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 60).Select(i => $"v{i}").ToHashSet(), values);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        var committed = await admin.ListConsumerGroupOffsetsAsync([new global::Confluent.Kafka.ConsumerGroupTopicPartitions(group, null)]);
        Assert.Equal(60, Assert.Single(committed).Partitions.Sum(p => p.Offset.Value));
    }

    [Fact]
    public async Task ListMetadataJson_TopicWithThreePartitions_ShowsBrokerAndTopic()
    {
        var kcat = ExternalTools.RequireKcat();
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("kcat-meta");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, partitions: 3);

        var result = await ProcessRunner.RunAsync(kcat, ["-b", broker.BootstrapServers, "-L", "-J"], Timeout, _output);
        Assert.True(result.ExitCode == 0, $"kcat -L -J failed: {result.Describe()}");
        _output.WriteLine(result.StandardOutput);

        using var document = JsonDocument.Parse(result.StandardOutput);
        var root = document.RootElement;
        var broker1 = Assert.Single(root.GetProperty("brokers").EnumerateArray());
        Assert.Equal(1, broker1.GetProperty("id").GetInt32());
        Assert.Equal(broker.BootstrapServers, broker1.GetProperty("name").GetString());

        var topicEntry = Assert.Single(root.GetProperty("topics").EnumerateArray(), t => t.GetProperty("topic").GetString() == topic);
        Assert.False(topicEntry.TryGetProperty("error", out var topicError), $"topic carries an error: {topicError}");
        var partitions = topicEntry.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], partitions.Select(p => p.GetProperty("partition").GetInt32()).Order());
        Assert.All(partitions, p =>
        {
            Assert.Equal(1, p.GetProperty("leader").GetInt32());
            Assert.Equal([1], p.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("id").GetInt32()));
            Assert.Equal([1], p.GetProperty("isrs").EnumerateArray().Select(r => r.GetProperty("id").GetInt32()));
        });
    }

    [Fact]
    public async Task ListMetadata_Text_ShowsBrokerAndTopic()
    {
        var kcat = ExternalTools.RequireKcat();
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("kcat-list");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, partitions: 2);

        var result = await ProcessRunner.RunAsync(kcat, ["-b", broker.BootstrapServers, "-L"], Timeout, _output);
        Assert.True(result.ExitCode == 0, $"kcat -L failed: {result.Describe()}");
        _output.WriteLine(result.StandardOutput);
        Assert.Contains($"broker 1 at {broker.BootstrapServers}", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"topic \"{topic}\" with 2 partitions:", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("partition 0, leader 1, replicas: 1, isrs: 1", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("partition 1, leader 1, replicas: 1, isrs: 1", result.StandardOutput, StringComparison.Ordinal);
    }

    // Keys and values with the delimiter inside the value, UTF-8, an empty value, and long compressible runs.
    private static IEnumerable<(string Key, string Value)> KeyedLines()
    {
        for (var i = 0; i < LineCount; i++)
        {
            var value = (i % 50) switch
            {
                7 => "value:with:colons",
                13 => "ünïcödé ✓ 値",
                21 => string.Empty,
                _ => $"value-{i.ToString(CultureInfo.InvariantCulture)}-{new string('z', i % 120)}",
            };
            yield return ($"key-{i:D4}", value);
        }
    }

    private static void AssertSameLines(string expected, string actual)
    {
        if (expected == actual)
        {
            return;
        }

        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        var report = new StringBuilder($"kcat output differs: {expectedLines.Length - 1} lines expected, {actualLines.Length - 1} read.");
        for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            var e = i < expectedLines.Length ? expectedLines[i] : "<none>";
            var a = i < actualLines.Length ? actualLines[i] : "<none>";
            if (e != a)
            {
                report.Append(CultureInfo.InvariantCulture, $" First difference at line {i}: expected '{e}', got '{a}'.");
                break;
            }
        }

        Assert.Fail(report.ToString());
    }
}
