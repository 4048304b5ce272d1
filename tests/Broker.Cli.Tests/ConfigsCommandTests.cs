namespace Broker.Cli.Tests;

/// <summary><c>configs</c> against a real in-process broker (node 1): kafka-configs' describe layout, alters and their errors.</summary>
public sealed class ConfigsCommandTests : IClassFixture<SingleBroker>
{
    private readonly SingleBroker _broker;

    public ConfigsCommandTests(SingleBroker broker)
    {
        _broker = broker;
    }

    private Task<(int Code, string Output, string Error)> ConfigsAsync(params string[] args) =>
        CliRun.RunAsync(["configs", "--bootstrap-server", _broker.BootstrapServers, .. args]);

    [Fact]
    public async Task AlterDescribe_BrokerConfig_AddedShownWithSynonymsThenDeleted()
    {
        var added = await ConfigsAsync("--alter", "--entity-type", "brokers", "--entity-name", "1", "--add-config", "log.retention.ms=3600000");
        var described = await ConfigsAsync("--describe", "--entity-type", "brokers", "--entity-name", "1");
        var deleted = await ConfigsAsync("--alter", "--entity-type", "brokers", "--entity-name", "1", "--delete-config", "log.retention.ms");
        var after = await ConfigsAsync("--describe", "--entity-type", "brokers", "--entity-name", "1");

        Assert.True(added.Code == 0, added.Error);
        Assert.Equal("Completed updating config for broker 1.\n", added.Output);
        Assert.True(described.Code == 0, described.Error);
        var lines = described.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Dynamic configs for broker 1 are:", lines[0]);
        var line = Assert.Single(lines[1..]);
        Assert.Equal("  log.retention.ms=3600000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=3600000}", line);
        Assert.True(deleted.Code == 0, deleted.Error);
        Assert.Equal("Dynamic configs for broker 1 are:\n", after.Output);
    }

    [Fact]
    public async Task Describe_All_EveryBrokerConfigWithItsSource()
    {
        var described = await ConfigsAsync("--describe", "--entity-type", "brokers", "--entity-name", "1", "--all");

        Assert.True(described.Code == 0, described.Error);
        var lines = described.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("All configs for broker 1 are:", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("  num.partitions=2 sensitive=false synonyms={STATIC_BROKER_CONFIG:num.partitions=2", StringComparison.Ordinal));
        Assert.True(lines.Length > 20, described.Output);
    }

    [Fact]
    public async Task AlterDescribe_ClusterDefault_DefaultHeaderAndSource()
    {
        var added = await ConfigsAsync("--alter", "--entity-type", "brokers", "--entity-default", "--add-config", "log.segment.bytes=2097152");
        var described = await ConfigsAsync("--describe", "--entity-type", "brokers", "--entity-default");
        var deleted = await ConfigsAsync("--alter", "--entity-type", "brokers", "--entity-default", "--delete-config", "log.segment.bytes");

        Assert.True(added.Code == 0, added.Error);
        Assert.Equal("Completed updating default config for brokers in the cluster.\n", added.Output);
        Assert.StartsWith("Default configs for brokers in the cluster are:\n  log.segment.bytes=2097152 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.segment.bytes=2097152",
            described.Output, StringComparison.Ordinal);
        Assert.True(deleted.Code == 0, deleted.Error);
    }

    [Fact]
    public async Task AlterDescribe_TopicConfigs_SetSeveralAndDeleteOne()
    {
        await CliRun.RunAsync("topics", "--bootstrap-server", _broker.BootstrapServers, "--create", "--topic", "configured");

        var added = await ConfigsAsync("--alter", "--entity-type", "topics", "--entity-name", "configured", "--add-config",
            "retention.ms=60000,cleanup.policy=[compact,delete]");
        var deleted = await ConfigsAsync("--alter", "--entity-type", "topics", "--entity-name", "configured", "--delete-config", "retention.ms");
        var described = await ConfigsAsync("--describe", "--entity-type", "topics", "--entity-name", "configured");

        Assert.True(added.Code == 0, added.Error);
        Assert.Equal("Completed updating config for topic configured.\n", added.Output);
        Assert.True(deleted.Code == 0, deleted.Error);
        Assert.Equal("Dynamic configs for topic configured are:\n" +
            "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}\n",
            described.Output);
    }

    [Fact]
    public async Task Shorthands_BrokerBrokerDefaultsTopic_SameAsEntityOptions()
    {
        await CliRun.RunAsync("topics", "--bootstrap-server", _broker.BootstrapServers, "--create", "--topic", "shorthand");

        var broker = await ConfigsAsync("--describe", "--broker", "1");
        var defaults = await ConfigsAsync("--describe", "--broker-defaults");
        var topic = await ConfigsAsync("--describe", "--topic", "shorthand");

        Assert.Equal((await ConfigsAsync("--describe", "--entity-type", "brokers", "--entity-name", "1")).Output, broker.Output);
        Assert.StartsWith("Default configs for brokers in the cluster are:\n", defaults.Output, StringComparison.Ordinal);
        Assert.Equal("Dynamic configs for topic shorthand are:\n", topic.Output);
    }

    [Fact]
    public async Task Describe_UnknownBroker_ExitCode1NamingIt()
    {
        var result = await ConfigsAsync("--describe", "--entity-type", "brokers", "--entity-name", "99");

        Assert.Equal(1, result.Code);
        Assert.Contains("error: broker 99 is not in the cluster", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("brokers", "1", "--add-config", "no.such.config=1", "Unknown broker config name: no.such.config")]
    [InlineData("brokers", "1", "--add-config", "log.dirs=/tmp/x", "INVALID_REQUEST: Cannot update these configs dynamically")]
    [InlineData("brokers", "1", "--delete-config", "log.retention.bytes", "not set on broker 1: log.retention.bytes")]
    [InlineData("topics", "no-such-topic", "--add-config", "retention.ms=1", "UNKNOWN_TOPIC_OR_PARTITION")]
    [InlineData("topics", "no-such-topic", "--delete-config", "retention.ms", "UNKNOWN_TOPIC_OR_PARTITION")]
    public async Task Alter_Refused_ExitCode1WithTheReason(string type, string name, string flag, string value, string message)
    {
        var result = await ConfigsAsync("--alter", "--entity-type", type, "--entity-name", name, flag, value);

        Assert.Equal(1, result.Code);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--describe", "--entity-type", "users", "--entity-name", "x")]
    [InlineData("--describe", "--alter", "--entity-type", "brokers", "--entity-name", "1")]
    [InlineData("--describe", "--entity-type", "brokers", "--entity-name", "one")]
    [InlineData("--alter", "--entity-type", "brokers", "--entity-name", "1")]
    [InlineData("--alter", "--entity-type", "topics", "--add-config", "a=1")]
    [InlineData("--alter", "--entity-type", "topics", "--entity-name", "t", "--add-config", "novalue")]
    public async Task Configs_BadArguments_ExitCode2(params string[] args)
    {
        var result = await ConfigsAsync(args);

        Assert.Equal(2, result.Code);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
    }
}
