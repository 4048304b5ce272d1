using System.Diagnostics;
using EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Broker;

/// <summary>
/// A broker container's data on a named volume across <c>docker restart</c>, <c>docker kill</c>, <c>docker stop</c>
/// and a replacement container: acknowledged records survive all of them, and only an unclean stop makes the next
/// start recover its logs.
/// </summary>
public sealed class BrokerDataTests(ITestOutputHelper output)
{
    private static readonly (string, string)[] Records = [("k1", "one"), ("k2", "two"), ("k3", "three")];

    [Fact]
    public async Task DockerRestart_DataOnNamedVolumeSurvives()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var volume = await E2EDocker.CreateVolumeAsync("restart");
        await using var broker = await StartOnVolumeAsync("restart", volume.Name);
        await KafkaClients.ProduceAsync(broker.HostBootstrap, "kept", Records);

        await broker.RestartAndWaitReadyAsync();

        Assert.Equal(Records, KafkaClients.ConsumeFromStart(broker.HostBootstrap, "kept", Records.Length));
        Assert.Contains("(clean shutdown: True)", LastStart(await broker.LogsAsync()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerKill_NextStartRecoversTheLogs_AndKeepsAcknowledgedRecords()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var volume = await E2EDocker.CreateVolumeAsync("kill");
        await using var broker = await StartOnVolumeAsync("kill", volume.Name);
        await KafkaClients.ProduceAsync(broker.HostBootstrap, "kept", Records);

        await broker.KillAsync();
        Assert.Equal(137, await broker.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        await broker.StartAgainAndWaitReadyAsync();

        Assert.Equal(Records, KafkaClients.ConsumeFromStart(broker.HostBootstrap, "kept", Records.Length));
        var lastStart = LastStart(await broker.LogsAsync());
        Assert.Contains("(clean shutdown: False)", lastStart, StringComparison.Ordinal);
        Assert.DoesNotContain("Formatted", lastStart, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerStop_StopsCleanlyWithinTheDefaultGrace_NextStartDoesNoRecovery()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var volume = await E2EDocker.CreateVolumeAsync("stop");
        await using var broker = await StartOnVolumeAsync("stop", volume.Name);
        await KafkaClients.ProduceAsync(broker.HostBootstrap, "kept", Records);

        var stopping = Stopwatch.StartNew();
        await broker.StopAsync(graceSeconds: 10);
        output.WriteLine($"docker stop took {stopping.ElapsedMilliseconds} ms");

        // Exit 0, not 137: SIGTERM stopped the broker before Docker's SIGKILL at 10 s.
        Assert.Equal(0, await broker.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"docker stop took {stopping.Elapsed}");
        Assert.Contains("Broker stopped cleanly", await broker.LogsAsync(), StringComparison.Ordinal);

        await broker.StartAgainAndWaitReadyAsync();
        var lastStart = LastStart(await broker.LogsAsync());
        Assert.Contains("(clean shutdown: True)", lastStart, StringComparison.Ordinal);
        Assert.DoesNotContain("(clean shutdown: False)", lastStart, StringComparison.Ordinal);
        Assert.Equal(Records, KafkaClients.ConsumeFromStart(broker.HostBootstrap, "kept", Records.Length));
    }

    [Fact]
    public async Task ReplacementContainer_OnTheSameVolume_ServesTheDataOfTheSameCluster()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        await using var volume = await E2EDocker.CreateVolumeAsync("replace");
        string clusterLine;
        await using (var first = await StartOnVolumeAsync("replace-1", volume.Name))
        {
            await KafkaClients.ProduceAsync(first.HostBootstrap, "kept", Records);
            await first.StopAsync();
            clusterLine = StartedLine(await first.LogsAsync());
        }

        await using var second = await StartOnVolumeAsync("replace-2", volume.Name);

        Assert.Equal(Records, KafkaClients.ConsumeFromStart(second.HostBootstrap, "kept", Records.Length));
        Assert.Equal(clusterLine, StartedLine(await second.LogsAsync()));
    }

    private async Task<BrokerContainer> StartOnVolumeAsync(string name, string volume)
    {
        var builder = new BrokerContainerBuilder(name).WithOutput(output).WithVolume(volume);
        builder.WithHostListener();
        var broker = builder.Build();
        try
        {
            await broker.StartAndWaitReadyAsync();
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }

        return broker;
    }

    // docker logs holds every start of the container: the part after the last "Configuration loaded".
    private static string LastStart(string logs) => logs[logs.LastIndexOf("Configuration loaded", StringComparison.Ordinal)..];

    // "Broker 1 started in cluster <id>", without the timestamp.
    private static string StartedLine(string logs)
    {
        var at = logs.LastIndexOf("Broker 1 started in cluster ", StringComparison.Ordinal);
        Assert.True(at >= 0, "no start line in the log");
        return logs[at..].Split('\n')[0].Trim();
    }
}
