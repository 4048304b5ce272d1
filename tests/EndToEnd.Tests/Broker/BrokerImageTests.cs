using System.Globalization;
using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Broker;

/// <summary>
/// One broker container of the image built from Dockerfile.broker: reached through a published 127.0.0.1 port by
/// Confluent.Kafka, and by kcat containers on a user-defined network; configured by nothing, by KAFKA_* variables or
/// by a mounted server.properties; the user, health check and tools inside the image.
/// </summary>
public sealed class BrokerImageTests(ITestOutputHelper output)
{
    private static readonly (string, string)[] Records = [("k1", "one"), ("k2", "two"), ("k3", "three")];

    [Fact]
    public async Task PublishedPort_ConfluentClient_ProducesAndConsumes()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        var builder = new BrokerContainerBuilder("produce-consume").WithOutput(output);
        builder.WithHostListener();
        await using var broker = builder.Build();
        var ready = await broker.StartAndWaitReadyAsync();
        output.WriteLine($"docker start to /v1/ready: {ready.TotalMilliseconds:F0} ms");

        await KafkaClients.ProduceAsync(broker.HostBootstrap, "e2e", Records);

        Assert.Equal(Records, KafkaClients.ConsumeFromStart(broker.HostBootstrap, "e2e", Records.Length));
    }

    [Fact]
    public async Task NoConfiguration_SingleNodeAdvertisedAsLocalhost9092_ServesThere()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        var builder = new BrokerContainerBuilder("no-config").WithOutput(output);
        var kafkaPort = builder.PublishPort(BrokerContainerBuilder.KafkaPort);
        await using var broker = builder.Build();
        await broker.StartAndWaitReadyAsync();

        // What `docker run -p 9092:9092` users get: node 1 (broker and controller) telling clients localhost:9092.
        Assert.Equal([(1, "localhost", 9092)], KafkaClients.AdvertisedBrokers($"127.0.0.1:{kafkaPort}"));

        // And localhost:9092 is the broker: a client in the container's own network namespace, where localhost is the
        // broker as the host's localhost is with -p 9092:9092, produces and consumes through that advertised address.
        var network = $"container:{broker.Name}";
        await KcatContainer.ProduceAsync(network, "localhost:9092", "no-config", Records);
        Assert.Equal(Records, await KcatContainer.ConsumeAsync(network, "localhost:9092", "no-config"));
        var logs = await broker.LogsAsync();
        Assert.Contains("Formatted /var/lib/kafka/data with cluster.id", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientContainerOnUserDefinedNetwork_ReachesBrokerByContainerName()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var network = await E2EDocker.CreateNetworkAsync("kcat");
        var builder = new BrokerContainerBuilder("by-name").WithOutput(output).WithNetwork(network);
        builder.WithHostListener();
        await using var broker = builder.Build();
        await broker.StartAndWaitReadyAsync();

        await KcatContainer.ProduceAsync(network.Name, $"{broker.Name}:9092", "by-name", Records);

        Assert.Equal(Records, await KcatContainer.ConsumeAsync(network.Name, $"{broker.Name}:9092", "by-name"));
        // Both listeners serve the same log: the host sees what the container produced.
        Assert.Equal(Records, KafkaClients.ConsumeFromStart(broker.HostBootstrap, "by-name", Records.Length));
    }

    [Fact]
    public async Task EnvironmentVariables_OverrideTheImageDefaults()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        var builder = new BrokerContainerBuilder("env-config").WithOutput(output)
            .WithConfig("node.id", "5")
            .WithConfig("num.partitions", "3")
            .WithEnvironment("CLUSTER_ID", "MkU3OEVBNTcwNTJENDM2Qg");
        builder.WithHostListener();
        await using var broker = builder.Build();
        await broker.StartAndWaitReadyAsync();

        await KafkaClients.ProduceAsync(broker.HostBootstrap, "auto-created", Records);

        Assert.Equal(5, Assert.Single(KafkaClients.AdvertisedBrokers(broker.HostBootstrap)).Id);
        Assert.Equal(3, KafkaClients.PartitionCount(broker.HostBootstrap, "auto-created"));
        Assert.Contains("Broker 5 started in cluster MkU3OEVBNTcwNTJENDM2Qg", await broker.LogsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MountedServerProperties_ReplacesTheImageConfiguration()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        using var directory = new TempDirectory("e2e-config-");
        var builder = new BrokerContainerBuilder("file-config").WithOutput(output);
        var hostPort = builder.PublishPort(19093);
        var file = Path.Combine(directory.Path, "server.properties");
        await File.WriteAllTextAsync(file, string.Join('\n',
            "process.roles=broker,controller",
            "node.id=7",
            "listeners=OUTSIDE://:19093",
            string.Create(CultureInfo.InvariantCulture, $"advertised.listeners=OUTSIDE://127.0.0.1:{hostPort}"),
            "listener.security.protocol.map=OUTSIDE:PLAINTEXT",
            "inter.broker.listener.name=OUTSIDE",
            "log.dirs=/var/lib/kafka/data/node-7",
            "num.partitions=2",
            "offsets.topic.replication.factor=1",
            "health.port=8080"));
        builder.WithBindMount(file, BrokerContainerBuilder.ConfigPath);
        await using var broker = builder.Build();
        await broker.StartAndWaitReadyAsync();
        var bootstrap = $"127.0.0.1:{hostPort}";

        await KafkaClients.ProduceAsync(bootstrap, "from-file", Records);

        Assert.Equal([(7, "127.0.0.1", hostPort)], KafkaClients.AdvertisedBrokers(bootstrap));
        Assert.Equal(2, KafkaClients.PartitionCount(bootstrap, "from-file"));
        Assert.Contains("Formatted /var/lib/kafka/data/node-7 with cluster.id", await broker.LogsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_RunsAsUid1001_BecomesHealthy_AndCarriesTheCliAndPerfTool()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        // The image's defaults: advertised as localhost:9092, which is the broker itself for tools run inside.
        await using var broker = new BrokerContainerBuilder("inside").WithOutput(output).Build();
        await broker.StartAndWaitReadyAsync();

        var uid = await broker.ExecAsync("id", "-u");
        Assert.Equal("1001", uid.StandardOutput.Trim());

        // The perf tool (librdkafka inside the self-contained, trimmed publish) against the broker it sits beside.
        var perf = await broker.ExecAsync("/opt/kafka/bin/kafka-broker", "perf", "produce", "--bootstrap-server", "localhost:9092",
            "--topic", "perf", "--num-records", "2000", "--record-size", "100", "--acks", "all");
        Assert.True(perf.ExitCode == 0, $"perf produce failed: {perf.Describe()}");
        Assert.Contains("2000 records sent", perf.StandardOutput, StringComparison.Ordinal);
        var consume = await broker.ExecAsync("/opt/kafka/bin/kafka-broker", "perf", "consume", "--bootstrap-server", "localhost:9092",
            "--topic", "perf", "--messages", "2000");
        Assert.True(consume.ExitCode == 0, $"perf consume failed: {consume.Describe()}");

        var info = await broker.ExecAsync("/opt/kafka/bin/kafka-broker", "storage", "info", "--config", BrokerContainerBuilder.ConfigPath);
        Assert.True(info.ExitCode == 0, $"storage info failed: {info.Describe()}");
        Assert.Contains("/var/lib/kafka/data: cluster.id=", info.StandardOutput, StringComparison.Ordinal);

        // Docker's own HEALTHCHECK (kafka-broker health, every 10 s) turns the container healthy.
        Assert.Equal("healthy", await broker.WaitForHealthAsync("healthy", TimeSpan.FromSeconds(60)));
    }
}
