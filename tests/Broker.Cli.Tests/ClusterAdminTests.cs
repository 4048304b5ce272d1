namespace Broker.Cli.Tests;

/// <summary><c>configs</c> and <c>topics</c> against three in-process brokers, bootstrapped through broker 1 only.</summary>
public sealed class ClusterAdminTests : IClassFixture<ThreeBrokers>
{
    private readonly ThreeBrokers _cluster;

    public ClusterAdminTests(ThreeBrokers cluster)
    {
        _cluster = cluster;
    }

    private string Bootstrap => _cluster.Broker(1).BootstrapServers;

    [Fact]
    public async Task Configs_AnotherBrokersResource_SentToThatBroker()
    {
        var added = await CliRun.RunAsync("configs", "--bootstrap-server", Bootstrap, "--alter", "--entity-type", "brokers", "--entity-name", "2",
            "--add-config", "log.retention.ms=7200000");
        var two = await CliRun.RunAsync("configs", "--bootstrap-server", Bootstrap, "--describe", "--entity-type", "brokers", "--entity-name", "2");
        var one = await CliRun.RunAsync("configs", "--bootstrap-server", Bootstrap, "--describe", "--entity-type", "brokers", "--entity-name", "1");

        Assert.True(added.Code == 0, added.Error);
        Assert.Equal("Dynamic configs for broker 2 are:\n  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=7200000}\n",
            two.Output);
        Assert.Equal("Dynamic configs for broker 1 are:\n", one.Output);
    }

    [Fact]
    public async Task Configs_DescribeAllBrokers_EachBrokerThenTheDefault()
    {
        var described = await CliRun.RunAsync("configs", "--bootstrap-server", Bootstrap, "--describe", "--entity-type", "brokers");

        Assert.True(described.Code == 0, described.Error);
        var headers = described.Output.Split('\n').Where(l => l.EndsWith("are:", StringComparison.Ordinal));
        Assert.Equal(["Dynamic configs for broker 1 are:", "Dynamic configs for broker 2 are:", "Dynamic configs for broker 3 are:",
            "Default configs for brokers in the cluster are:"], headers);
    }

    [Fact]
    public async Task Topics_DescribeReplicatedTopic_ReplicasAndIsrOfEveryPartition()
    {
        var created = await CliRun.RunAsync("topics", "--bootstrap-server", Bootstrap, "--create", "--topic", "replicated", "--partitions", "2",
            "--replication-factor", "3");
        await WaitUntilAsync(() => _cluster.Store.Image.TopicsByName["replicated"].Partitions.All(p => p.Isr.Length == 3));
        var described = await CliRun.RunAsync("topics", "--bootstrap-server", Bootstrap, "--describe", "--topic", "replicated");

        Assert.True(created.Code == 0, created.Error);
        var lines = described.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: ", lines[0], StringComparison.Ordinal);
        foreach (var (line, partition) in lines[1..].Select((l, i) => (l, i)))
        {
            var state = _cluster.Store.Image.TopicsByName["replicated"].Partitions[partition];
            Assert.Equal($"\tTopic: replicated\tPartition: {partition}\tLeader: {state.Leader}\tReplicas: {string.Join(",", state.Replicas)}" +
                $"\tIsr: {string.Join(",", state.Isr)}\tElr: \tLastKnownElr: ", line);
        }
    }

    [Fact]
    public async Task Topics_ReplicationFactorAboveBrokerCount_ExitCode1()
    {
        var created = await CliRun.RunAsync("topics", "--bootstrap-server", Bootstrap, "--create", "--topic", "too-wide", "--replication-factor", "4");

        Assert.Equal(1, created.Code);
        Assert.Contains("error: cannot create topic too-wide: INVALID_REPLICATION_FACTOR", created.Error, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}
