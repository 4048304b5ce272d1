using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>
/// AlterConfigs and IncrementalAlterConfigs through librdkafka's AdminClient against a real broker: topic and broker
/// changes are visible in DescribeConfigs with Kafka's sources and take effect without a restart.
/// </summary>
public sealed class AlterConfigsTests
{
    private readonly ITestOutputHelper _output;

    public AlterConfigsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private static ConfigEntry Op(string name, string? value, AlterConfigOpType op) =>
        new() { Name = name, Value = value, IncrementalOperation = op };

    private static async Task<Dictionary<string, ConfigEntryResult>> DescribeAsync(IAdminClient admin, ResourceType type, string name)
    {
        var described = await admin.DescribeConfigsAsync([new ConfigResource { Type = type, Name = name }]);
        return Assert.Single(described).Entries;
    }

    [Fact]
    public async Task IncrementalAlterConfigsAsync_TopicSetDeleteAppend_DescribeShowsDynamicTopicConfig()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("incr");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 1, new Dictionary<string, string> { ["segment.ms"] = "600000" });
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        var resource = new ConfigResource { Type = ResourceType.Topic, Name = topic };

        var results = await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [resource] =
            [
                Op("retention.ms", "7200000", AlterConfigOpType.Set),
                Op("segment.ms", null, AlterConfigOpType.Delete),
                Op("cleanup.policy", "compact", AlterConfigOpType.Append),
            ],
        });

        Assert.Equal(topic, Assert.Single(results).ConfigResource.Name);
        var entries = await DescribeAsync(admin, ResourceType.Topic, topic);
        Assert.Equal(("7200000", ConfigSource.DynamicTopicConfig), (entries["retention.ms"].Value, entries["retention.ms"].Source));
        Assert.Equal(ConfigSource.DefaultConfig, entries["segment.ms"].Source);
        Assert.Equal(("delete,compact", ConfigSource.DynamicTopicConfig), (entries["cleanup.policy"].Value, entries["cleanup.policy"].Source));
    }

    [Fact]
    public async Task AlterConfigsAsync_Topic_ReplacesAllOverrides()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("alter");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 1, new Dictionary<string, string> { ["retention.ms"] = "600000" });
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

#pragma warning disable CS0618 // AlterConfigs is deprecated in the client in favour of the incremental API, but still served by Kafka
        await admin.AlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [new ConfigResource { Type = ResourceType.Topic, Name = topic }] = [new ConfigEntry { Name = "max.message.bytes", Value = "4000" }],
        });
#pragma warning restore CS0618

        var entries = await DescribeAsync(admin, ResourceType.Topic, topic);
        Assert.Equal(("4000", ConfigSource.DynamicTopicConfig), (entries["max.message.bytes"].Value, entries["max.message.bytes"].Source));
        Assert.Equal(ConfigSource.DefaultConfig, entries["retention.ms"].Source);
    }

    [Fact]
    public async Task IncrementalAlterConfigsAsync_MaxMessageBytes_NextLargerProduceRejectedWithoutRestart()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("dyn");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output);
        var big = new string('x', 5000);
        var before = await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = big });
        Assert.Equal(PersistenceStatus.Persisted, before.Status);

        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [new ConfigResource { Type = ResourceType.Topic, Name = topic }] = [Op("max.message.bytes", "1000", AlterConfigOpType.Set)],
        });

        var rejected = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = big }));
        Assert.Equal(ErrorCode.MsgSizeTooLarge, rejected.Error.Code);
        var small = await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = "small" });
        Assert.Equal(PersistenceStatus.Persisted, small.Status);
    }

    [Fact]
    public async Task IncrementalAlterConfigsAsync_BrokerMessageMaxBytes_AppliesToTopicsWithoutOverride()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var plain = KafkaClients.UniqueTopic("plain");
        var overridden = KafkaClients.UniqueTopic("own");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, plain);
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, overridden, 1, new Dictionary<string, string> { ["max.message.bytes"] = "100000" });
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            // librdkafka refuses an empty resource name, so the cluster-wide default ("") is covered by the handler tests.
            [new ConfigResource { Type = ResourceType.Broker, Name = "1" }] = [Op("message.max.bytes", "1000", AlterConfigOpType.Set)],
        });

        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output);
        var big = new string('x', 5000);
        var rejected = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync(plain, new Message<string, string> { Key = "k", Value = big }));
        Assert.Equal(ErrorCode.MsgSizeTooLarge, rejected.Error.Code);
        var accepted = await producer.ProduceAsync(overridden, new Message<string, string> { Key = "k", Value = big });
        Assert.Equal(PersistenceStatus.Persisted, accepted.Status);

        var topicEntries = await DescribeAsync(admin, ResourceType.Topic, plain);
        var maxMessage = topicEntries["max.message.bytes"];
        Assert.Equal(("1000", ConfigSource.DynamicBrokerConfig), (maxMessage.Value, maxMessage.Source));
        Assert.Contains(maxMessage.Synonyms, s => s.Name == "message.max.bytes" && s.Value == "1000" && s.Source == ConfigSource.DynamicBrokerConfig);
        var brokerEntries = await DescribeAsync(admin, ResourceType.Broker, "1");
        Assert.Equal(("1000", ConfigSource.DynamicBrokerConfig), (brokerEntries["message.max.bytes"].Value, brokerEntries["message.max.bytes"].Source));
    }

    [Fact]
    public async Task IncrementalAlterConfigsAsync_PerBroker_DynamicBrokerConfigSource()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [new ConfigResource { Type = ResourceType.Broker, Name = "1" }] = [Op("log.retention.ms", "3600000", AlterConfigOpType.Set)],
        });

        var entries = await DescribeAsync(admin, ResourceType.Broker, "1");
        var retention = entries["log.retention.ms"];
        Assert.Equal(("3600000", ConfigSource.DynamicBrokerConfig, false), (retention.Value, retention.Source, retention.IsReadOnly));
        Assert.True(entries["node.id"].IsReadOnly);
    }

    [Fact]
    public async Task IncrementalAlterConfigsAsync_ReadOnlyBrokerConfig_InvalidRequestNamingKey()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var error = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() => admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [new ConfigResource { Type = ResourceType.Broker, Name = "1" }] = [Op("num.network.threads", "8", AlterConfigOpType.Set)],
        }));

        var report = Assert.Single(error.Results);
        Assert.Equal(ErrorCode.InvalidRequest, report.Error.Code);
        Assert.Contains("Cannot update these configs dynamically: Set(num.network.threads)", report.Error.Reason);
    }

    [Fact]
    public async Task IncrementalAlterConfigsAsync_UnknownAndInvalidTopicConfigs_InvalidConfigAndNothingChanged()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("bad");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        var resource = new ConfigResource { Type = ResourceType.Topic, Name = topic };

        var unknown = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() => admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [resource] = [Op("retention.ms", "1000", AlterConfigOpType.Set), Op("foo", "1", AlterConfigOpType.Set)] }));
        var invalid = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() => admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [resource] = [Op("retention.ms", "soon", AlterConfigOpType.Set)] }));

        Assert.Equal((ErrorCode.InvalidConfig, "Unknown topic config name: foo"), (unknown.Results[0].Error.Code, unknown.Results[0].Error.Reason));
        Assert.Equal(ErrorCode.InvalidConfig, invalid.Results[0].Error.Code);
        Assert.Contains("retention.ms", invalid.Results[0].Error.Reason);
        var entries = await DescribeAsync(admin, ResourceType.Topic, topic);
        Assert.Equal(ConfigSource.DefaultConfig, entries["retention.ms"].Source);
    }

    [Fact]
    public async Task IncrementalAlterConfigsAsync_ValidateOnly_NothingChanged()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("vo");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        await admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [new ConfigResource { Type = ResourceType.Topic, Name = topic }] = [Op("retention.ms", "1000", AlterConfigOpType.Set)],
            },
            new IncrementalAlterConfigsOptions { ValidateOnly = true });

        var entries = await DescribeAsync(admin, ResourceType.Topic, topic);
        Assert.Equal(ConfigSource.DefaultConfig, entries["retention.ms"].Source);
        Assert.Equal("604800000", entries["retention.ms"].Value);
    }

    [Fact]
    public async Task CreateTopicsAsync_UnknownConfig_InvalidConfigNamingKey()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);

        var error = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync(
        [
            new TopicSpecification { Name = KafkaClients.UniqueTopic("unk"), NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["foo"] = "1" } },
        ]));

        var report = Assert.Single(error.Results);
        Assert.Equal((ErrorCode.InvalidConfig, "Unknown topic config name: foo"), (report.Error.Code, report.Error.Reason));
    }
}
