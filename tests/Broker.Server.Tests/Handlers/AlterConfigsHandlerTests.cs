using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Tests.Handlers;

/// <summary>AlterConfigs (33) and IncrementalAlterConfigs (44) through the real handler table and metadata log.</summary>
public sealed class AlterConfigsHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new();

    public AlterConfigsHandlerTests()
    {
        var created = _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("t", 1, 1, null, new Dictionary<string, string?> { ["retention.ms"] = "3600000" })], false, CancellationToken.None)
            .GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
    }

    public void Dispose() => _harness.Dispose();

    private static IncrementalAlterConfigsRequest.AlterConfigsResource Resource(sbyte type, string name, params (string Name, ConfigOperation Op, string? Value)[] configs)
    {
        var resource = new IncrementalAlterConfigsRequest.AlterConfigsResource { ResourceType = type, ResourceName = name };
        foreach (var (key, op, value) in configs)
        {
            resource.Configs.Add(new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, ConfigOperation = (sbyte)op, Value = value });
        }

        return resource;
    }

    private Task<IncrementalAlterConfigsResponse> IncrementalAsync(bool validateOnly, params IncrementalAlterConfigsRequest.AlterConfigsResource[] resources) =>
        IncrementalAsync(validateOnly, ApiListeners.Broker, resources);

    private async Task<IncrementalAlterConfigsResponse> IncrementalAsync(bool validateOnly, ApiListeners listener, params IncrementalAlterConfigsRequest.AlterConfigsResource[] resources)
    {
        var body = await _harness.CallAsync(44, 1, new IncrementalAlterConfigsRequest { Resources = [.. resources], ValidateOnly = validateOnly }, listener);
        var response = new IncrementalAlterConfigsResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 1);
        return response;
    }

    private async Task<AlterConfigsResponse> AlterAsync(sbyte type, string name, params (string Name, string? Value)[] configs)
    {
        var resource = new AlterConfigsRequest.AlterConfigsResource { ResourceType = type, ResourceName = name };
        foreach (var (key, value) in configs)
        {
            resource.Configs.Add(new AlterConfigsRequest.AlterableConfig { Name = key, Value = value });
        }

        var body = await _harness.CallAsync(33, 2, new AlterConfigsRequest { Resources = [resource] });
        var response = new AlterConfigsResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 2);
        return response;
    }

    private IReadOnlyDictionary<string, string> TopicConfigs => _harness.Image.TopicsByName["t"].Configs;

    [Fact]
    public async Task IncrementalAlter_SetAndDelete_CommittedAndAppliedToPartition()
    {
        var response = await IncrementalAsync(false, Resource(2, "t",
            ("max.message.bytes", ConfigOperation.Set, "2000"),
            ("retention.ms", ConfigOperation.Delete, null)));

        Assert.Equal(0, Assert.Single(response.Responses).ErrorCode);
        Assert.Equal("2000", TopicConfigs["max.message.bytes"]);
        Assert.False(TopicConfigs.ContainsKey("retention.ms"));
        var partition = _harness.Components.Services.Replicas.Get("t", 0)!;
        Assert.Equal(2000, partition.Config.MaxMessageBytes);
        Assert.Equal(7L * 24 * 3600 * 1000, partition.Log.Config.RetentionMs);
    }

    [Fact]
    public async Task IncrementalAlter_AppendAndSubtractOnList_StartFromDefault()
    {
        var appended = await IncrementalAsync(false, Resource(2, "t", ("cleanup.policy", ConfigOperation.Append, "compact")));
        Assert.Equal(0, appended.Responses[0].ErrorCode);
        Assert.Equal("delete,compact", TopicConfigs["cleanup.policy"]);

        var subtracted = await IncrementalAsync(false, Resource(2, "t", ("cleanup.policy", ConfigOperation.Subtract, "delete")));
        Assert.Equal(0, subtracted.Responses[0].ErrorCode);
        Assert.Equal("compact", TopicConfigs["cleanup.policy"]);
        Assert.Equal("compact", _harness.Components.Services.Replicas.Get("t", 0)!.Log.Config.CleanupPolicy);
    }

    [Fact]
    public async Task IncrementalAlter_AppendToNonList_InvalidConfig()
    {
        var response = await IncrementalAsync(false, Resource(2, "t", ("retention.ms", ConfigOperation.Append, "5")));

        Assert.Equal((short)ErrorCode.InvalidConfig, response.Responses[0].ErrorCode);
        Assert.Contains("retention.ms", response.Responses[0].ErrorMessage);
        Assert.Equal("3600000", TopicConfigs["retention.ms"]);
    }

    [Theory]
    [InlineData("foo", "1", "Unknown topic config name: foo")]
    [InlineData("retention.ms", "abc", "retention.ms")]
    [InlineData("segment.bytes", "100", "segment.bytes")]
    [InlineData("cleanup.policy", "shred", "cleanup.policy")]
    [InlineData("min.cleanable.dirty.ratio", "2", "min.cleanable.dirty.ratio")]
    public async Task IncrementalAlter_BadTopicConfig_InvalidConfigNamingKeyAndNothingApplied(string key, string value, string expectedMessage)
    {
        var response = await IncrementalAsync(false, Resource(2, "t",
            ("max.message.bytes", ConfigOperation.Set, "2000"),
            (key, ConfigOperation.Set, value)));

        Assert.Equal((short)ErrorCode.InvalidConfig, response.Responses[0].ErrorCode);
        Assert.Contains(expectedMessage, response.Responses[0].ErrorMessage);
        Assert.False(TopicConfigs.ContainsKey("max.message.bytes"));
    }

    [Fact]
    public async Task IncrementalAlter_ValidateOnly_NothingCommitted()
    {
        var offset = _harness.Image.Offset;

        var response = await IncrementalAsync(true, Resource(2, "t", ("retention.ms", ConfigOperation.Set, "1000")));

        Assert.Equal(0, response.Responses[0].ErrorCode);
        Assert.Equal("3600000", TopicConfigs["retention.ms"]);
        Assert.Equal(offset, _harness.Image.Offset);
    }

    [Fact]
    public async Task IncrementalAlter_OneBadResource_OthersStillApplied()
    {
        var response = await IncrementalAsync(false,
            Resource(2, "missing", ("retention.ms", ConfigOperation.Set, "1000")),
            Resource(2, "t", ("retention.ms", ConfigOperation.Set, "1000")));

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Responses[0].ErrorCode);
        Assert.Equal(0, response.Responses[1].ErrorCode);
        Assert.Equal("1000", TopicConfigs["retention.ms"]);
    }

    [Fact]
    public async Task IncrementalAlter_DuplicateResourceOrKey_InvalidRequest()
    {
        var duplicateResource = await IncrementalAsync(false,
            Resource(2, "t", ("retention.ms", ConfigOperation.Set, "1000")),
            Resource(2, "t", ("retention.ms", ConfigOperation.Set, "2000")));
        var duplicateKey = await IncrementalAsync(false,
            Resource(2, "t", ("retention.ms", ConfigOperation.Set, "1000"), ("retention.ms", ConfigOperation.Delete, null)));

        Assert.All(duplicateResource.Responses, r => Assert.Equal((short)ErrorCode.InvalidRequest, r.ErrorCode));
        Assert.Equal((short)ErrorCode.InvalidRequest, duplicateKey.Responses[0].ErrorCode);
        Assert.Equal("3600000", TopicConfigs["retention.ms"]);
    }

    [Fact]
    public async Task IncrementalAlter_BrokerDefault_AppliesToTopicsWithoutOverride()
    {
        var response = await IncrementalAsync(false, Resource(4, string.Empty, ("message.max.bytes", ConfigOperation.Set, "5000")));

        Assert.Equal(0, response.Responses[0].ErrorCode);
        Assert.Equal("5000", _harness.Image.BrokerConfigsFor(string.Empty)["message.max.bytes"]);
        Assert.Equal(5000, _harness.Components.Services.Replicas.Get("t", 0)!.Config.MaxMessageBytes);
    }

    [Fact]
    public async Task IncrementalAlter_PerBrokerOverClusterDefault_PerBrokerWins()
    {
        await IncrementalAsync(false, Resource(4, string.Empty, ("log.retention.bytes", ConfigOperation.Set, "1000000")));
        var response = await IncrementalAsync(false, Resource(4, "1", ("log.retention.bytes", ConfigOperation.Set, "2000000")));

        Assert.Equal(0, response.Responses[0].ErrorCode);
        Assert.Equal(2_000_000, _harness.Components.Services.Replicas.Get("t", 0)!.Log.Config.RetentionBytes);
    }

    [Theory]
    [InlineData("1", "node.id", "5", "Cannot update these configs dynamically: Set(node.id)")]
    [InlineData("", "no.such.broker.key", "1", "no.such.broker.key")]
    [InlineData("1", "log.segment.bytes", "12", "log.segment.bytes")]
    [InlineData("7", "log.retention.ms", "1000", "Unexpected broker id")]
    public async Task IncrementalAlter_BadBrokerConfig_InvalidRequest(string name, string key, string value, string expectedMessage)
    {
        var response = await IncrementalAsync(false, Resource(4, name, (key, ConfigOperation.Set, value)));

        Assert.Equal((short)ErrorCode.InvalidRequest, response.Responses[0].ErrorCode);
        Assert.Contains(expectedMessage, response.Responses[0].ErrorMessage);
        Assert.Empty(_harness.Image.BrokerConfigs);
    }

    [Fact]
    public async Task IncrementalAlter_OtherBrokerOnControllerListener_Committed()
    {
        // As Kafka's controller takes any broker id: a forwarded request, or Admin with bootstrap.controllers.
        var response = await IncrementalAsync(false, ApiListeners.Controller, Resource(4, "7", ("log.retention.ms", ConfigOperation.Set, "1000")));

        Assert.Equal(0, response.Responses[0].ErrorCode);
        Assert.Equal("1000", _harness.Image.BrokerConfigsFor("7")["log.retention.ms"]);
        Assert.Empty(_harness.Image.BrokerConfigsFor("1"));
    }

    [Theory]
    [InlineData("broker-7")]
    [InlineData("-1")]
    public async Task IncrementalAlter_BrokerNameNoIdOnControllerListener_InvalidRequest(string name)
    {
        var response = await IncrementalAsync(false, ApiListeners.Controller, Resource(4, name, ("log.retention.ms", ConfigOperation.Set, "1000")));

        Assert.Equal((short)ErrorCode.InvalidRequest, response.Responses[0].ErrorCode);
        Assert.Contains("Unable to parse broker name", response.Responses[0].ErrorMessage);
        Assert.Empty(_harness.Image.BrokerConfigs);
    }

    [Fact]
    public async Task IncrementalAlter_BrokerLogger_InvalidRequest()
    {
        var response = await IncrementalAsync(false, Resource(8, "1", ("kafka.server", ConfigOperation.Set, "DEBUG")));

        Assert.Equal((short)ErrorCode.InvalidRequest, response.Responses[0].ErrorCode);
    }

    [Fact]
    public async Task Alter_FullReplacement_RemovesUnlistedOverrides()
    {
        var response = await AlterAsync(2, "t", ("max.message.bytes", "3000"));

        Assert.Equal(0, Assert.Single(response.Responses).ErrorCode);
        Assert.Equal("3000", TopicConfigs["max.message.bytes"]);
        Assert.False(TopicConfigs.ContainsKey("retention.ms"));
    }

    [Fact]
    public async Task Alter_UnknownKey_InvalidConfigAndExistingKept()
    {
        var response = await AlterAsync(2, "t", ("retention.ms", "5000"), ("foo", "1"));

        Assert.Equal((short)ErrorCode.InvalidConfig, response.Responses[0].ErrorCode);
        Assert.Equal("Unknown topic config name: foo", response.Responses[0].ErrorMessage);
        Assert.Equal("3600000", TopicConfigs["retention.ms"]);
    }

    [Fact]
    public async Task DescribeConfigs_AfterBrokerAlter_DynamicSourcesAndSynonyms()
    {
        await IncrementalAsync(false, Resource(4, string.Empty, ("log.retention.ms", ConfigOperation.Set, "7200000")));
        await IncrementalAsync(false, Resource(4, "1", ("log.segment.bytes", ConfigOperation.Set, "2097152")));
        var request = new DescribeConfigsRequest
        {
            Resources =
            [
                new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 2, ResourceName = "t", ConfigurationKeys = null },
                new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 4, ResourceName = "1", ConfigurationKeys = null },
                new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 4, ResourceName = string.Empty, ConfigurationKeys = null },
            ],
            IncludeSynonyms = true,
        };

        var body = await _harness.CallAsync(32, 4, request);
        var response = new DescribeConfigsResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 4);

        var topic = response.Results[0].Configs.ToDictionary(c => c.Name);
        Assert.Equal("3600000", topic["retention.ms"].Value);
        Assert.Equal(1, topic["retention.ms"].ConfigSource);
        Assert.Contains(topic["retention.ms"].Synonyms, s => s.Name == "log.retention.ms" && s.Value == "7200000" && s.Source == 3);
        Assert.Equal("2097152", topic["segment.bytes"].Value);
        Assert.Equal(2, topic["segment.bytes"].ConfigSource);

        var broker = response.Results[1].Configs.ToDictionary(c => c.Name);
        Assert.Equal(("2097152", (sbyte)2, false), (broker["log.segment.bytes"].Value, broker["log.segment.bytes"].ConfigSource, broker["log.segment.bytes"].ReadOnly));
        Assert.Equal(("7200000", (sbyte)3), (broker["log.retention.ms"].Value, broker["log.retention.ms"].ConfigSource));
        Assert.True(broker["node.id"].ReadOnly);

        var clusterDefault = Assert.Single(response.Results[2].Configs);
        Assert.Equal(("log.retention.ms", "7200000", (sbyte)3), (clusterDefault.Name, clusterDefault.Value, clusterDefault.ConfigSource));
    }

    [Fact]
    public async Task CreateTopics_UnknownConfig_InvalidConfigNamingKey()
    {
        var created = await _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("u", 1, 1, null, new Dictionary<string, string?> { ["foo"] = "1" })], false, CancellationToken.None);

        var result = Assert.Single(created);
        Assert.Equal(ErrorCode.InvalidConfig, result.Error);
        Assert.Equal("Unknown topic config name: foo", result.Message);
        Assert.False(_harness.Image.TopicsByName.ContainsKey("u"));
    }

    [Fact]
    public async Task DynamicConfigs_AfterRestart_ReplayedFromMetadataLog()
    {
        await IncrementalAsync(false, Resource(4, string.Empty, ("log.retention.bytes", ConfigOperation.Set, "1000000")));
        await IncrementalAsync(false, Resource(2, "t", ("max.message.bytes", ConfigOperation.Set, "4000")));

        using var restarted = _harness.Restart();

        Assert.Equal("1000000", restarted.Image.BrokerConfigsFor(string.Empty)["log.retention.bytes"]);
        var partition = restarted.Components.Services.Replicas.Get("t", 0)!;
        Assert.Equal(4000, partition.Config.MaxMessageBytes);
        Assert.Equal(1_000_000, partition.Log.Config.RetentionBytes);
    }
}
