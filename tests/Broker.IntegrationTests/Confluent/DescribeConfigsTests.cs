using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>DescribeConfigs through librdkafka's AdminClient: values, sources and synonyms as Kafka reports them.</summary>
public sealed class DescribeConfigsTests
{
    private readonly ITestOutputHelper _output;

    public DescribeConfigsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task DescribeConfigsAsync_Topic_OverrideStaticBrokerAndDefaultSources()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("log.retention.hours", "1"));
        var topic = KafkaClients.UniqueTopic("configs");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 1, new Dictionary<string, string> { ["max.message.bytes"] = "2000000" });
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        // librdkafka always asks for synonyms (DescribeConfigs v1+).
        var described = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = topic }]);

        var entries = Assert.Single(described).Entries;
        var maxMessage = entries["max.message.bytes"];
        Assert.Equal("2000000", maxMessage.Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, maxMessage.Source);
        Assert.Equal("max.message.bytes", maxMessage.Synonyms[0].Name);
        Assert.Contains(maxMessage.Synonyms, s => s.Name == "message.max.bytes" && s.Source == ConfigSource.DefaultConfig);

        var retention = entries["retention.ms"];
        Assert.Equal("3600000", retention.Value);
        Assert.Equal(ConfigSource.StaticBrokerConfig, retention.Source);
        Assert.Contains(retention.Synonyms, s => s.Name == "log.retention.hours" && s.Value == "1" && s.Source == ConfigSource.StaticBrokerConfig);

        var segment = entries["segment.bytes"];
        Assert.Equal("1073741824", segment.Value);
        Assert.Equal(ConfigSource.DefaultConfig, segment.Source);
        Assert.Equal("producer", entries["compression.type"].Value);
        Assert.Equal("delete", entries["cleanup.policy"].Value);
    }

    [Fact]
    public async Task DescribeConfigsAsync_Broker_StaticAndDefaultValues()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("num.partitions", "4"));
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var described = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Broker, Name = "1" }]);

        var entries = Assert.Single(described).Entries;
        Assert.Equal("4", entries["num.partitions"].Value);
        Assert.Equal(ConfigSource.StaticBrokerConfig, entries["num.partitions"].Source);
        Assert.Equal("1048588", entries["message.max.bytes"].Value);
        Assert.Equal(ConfigSource.DefaultConfig, entries["message.max.bytes"].Source);
        Assert.True(entries["num.partitions"].IsReadOnly);
    }

    [Fact]
    public async Task DescribeConfigsAsync_MissingTopic_UnknownTopicOrPartition()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var error = await Assert.ThrowsAsync<DescribeConfigsException>(() =>
            admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = "no-such-topic" }]));

        Assert.Equal(ErrorCode.UnknownTopicOrPart, Assert.Single(error.Results).Error.Code);
    }
}
