using EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Broker;

/// <summary>
/// Bad input to a broker container: it exits non-zero with a message naming the cause, and leaves its data volume as
/// it found it.
/// </summary>
public sealed class BrokerStartupFailureTests(ITestOutputHelper output)
{
    private const string ClusterA = "MkU3OEVBNTcwNTJENDM2Qg";
    private const string ClusterB = "cHGvf2kKRe2yA3-Nn-0Qfw";
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("KAFKA_NUM_PARTITIONS", "abc", "num.partitions")]
    [InlineData("KAFKA_LISTENERS", "PLAINTEXT://:notaport", "listeners")]
    [InlineData("CLUSTER_ID", "not-a-cluster-id", "CLUSTER_ID")]
    public async Task InvalidConfiguration_ExitsWithCode2NamingTheKey(string variable, string value, string key)
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var broker = new BrokerContainerBuilder("invalid-" + key.Replace('.', '-').ToLowerInvariant())
            .WithOutput(output).WithEnvironment(variable, value).Build();

        await broker.StartAsync();

        Assert.Equal(2, await broker.WaitForExitAsync(ExitTimeout));
        var logs = await broker.LogsAsync();
        Assert.Contains("error: ", logs, StringComparison.Ordinal);
        Assert.Contains(key, logs, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("root-owned", "chown 0:0 /d && chmod 755 /d", false, "is not writable")]
    [InlineData("read-only", "chown 1001:0 /d", true, "Read-only file system")]
    public async Task UnwritableDataVolume_RefusesToStart_AndTouchesNothing(string name, string prepare, bool readOnly, string reason)
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var volume = await E2EDocker.CreateVolumeAsync(name);
        await VolumeShell.RunAsync(volume.Name, $"{prepare} && echo keep > /d/keep");
        var before = await VolumeShell.SnapshotAsync(volume.Name);
        await using var broker = new BrokerContainerBuilder(name).WithOutput(output)
            .WithVolume(volume.Name, BrokerContainerBuilder.DataPath, readOnly).Build();

        await broker.StartAsync();

        Assert.Equal(1, await broker.WaitForExitAsync(ExitTimeout));
        var logs = await broker.LogsAsync();
        Assert.Contains("error: Log directory /var/lib/kafka/data is not writable", logs, StringComparison.Ordinal);
        Assert.Contains(reason, logs, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", logs, StringComparison.Ordinal);
        Assert.Equal(before, await VolumeShell.SnapshotAsync(volume.Name));
    }

    [Fact]
    public async Task VolumeOfAnotherCluster_RefusesToStart_AndTouchesNothing()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var volume = await E2EDocker.CreateVolumeAsync("other-cluster");
        await using (var first = BuildOnVolume("cluster-a", volume.Name, ClusterA))
        {
            await first.StartAndWaitReadyAsync();
            await KafkaClients.ProduceAsync(first.HostBootstrap, "of-cluster-a", [("k", "v")]);
            await first.StopAsync();
        }

        var before = await VolumeShell.SnapshotAsync(volume.Name);
        await using var second = BuildOnVolume("cluster-b", volume.Name, ClusterB);

        await second.StartAsync();

        Assert.Equal(1, await second.WaitForExitAsync(ExitTimeout));
        var logs = await second.LogsAsync();
        Assert.Contains($"error: Log directory /var/lib/kafka/data belongs to cluster.id {ClusterA}", logs, StringComparison.Ordinal);
        Assert.Contains($"CLUSTER_ID is {ClusterB}", logs, StringComparison.Ordinal);
        Assert.Equal(before, await VolumeShell.SnapshotAsync(volume.Name));
    }

    private BrokerContainer BuildOnVolume(string name, string volume, string clusterId)
    {
        var builder = new BrokerContainerBuilder(name).WithOutput(output).WithVolume(volume).WithEnvironment("CLUSTER_ID", clusterId);
        builder.WithHostListener();
        return builder.Build();
    }
}
