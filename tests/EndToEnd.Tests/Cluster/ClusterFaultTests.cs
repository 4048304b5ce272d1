using System.Diagnostics;
using Broker.FaultTests.Infrastructure;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Cluster;

/// <summary>
/// A three-node KRaft cluster of broker containers survives, one after another, the partition leader killed, a broker
/// frozen past its session timeout, and the leader cut off from the network, while an idempotent acks=all producer in
/// a client container keeps writing: every acknowledged record is read back exactly once, at its acknowledged offset,
/// in order.
/// </summary>
public sealed class ClusterFaultTests(ITestOutputHelper output)
{
    private const string Topic = "e2e-faults";
    private const int Partitions = 3;
    private const int RecordsPerSecond = 200;

    // Enough acknowledgements after a fault to show the partition is writable again, few enough to keep the run short.
    private const int Progress = 100;

    [Fact]
    public async Task Produce_KillPauseAndPartitionLeaders_EveryAcknowledgedRecordReadBackOnceInOrder()
    {
        var wall = Stopwatch.StartNew();
        await using var cluster = await ContainerCluster.StartAsync(output);
        await cluster.CreateTopicAsync(Topic, Partitions);
        await cluster.WaitForFullIsrAsync(Topic);
        await using var producer = await VerifiableProducerContainer.StartAsync(cluster, Topic, Partitions, RecordsPerSecond);
        for (var partition = 0; partition < Partitions; partition++)
        {
            await producer.WaitForProgressAsync(cluster, partition, Progress, "before any fault");
        }

        // The leader of partition 0 dies; another replica takes over, and the restarted node catches up from its own log.
        var killed = await cluster.WaitForLeaderAsync(Topic, 0);
        await cluster.KillAsync(killed);
        await cluster.WaitForLeaderAsync(Topic, 0, other: killed);
        await producer.WaitForProgressAsync(cluster, 0, Progress, $"node {killed} killed");
        await cluster.RestartAsync(killed);
        await cluster.WaitForFullIsrAsync(Topic);

        // The leader of partition 1 freezes longer than its session: the controller fences it and moves leadership.
        var paused = await cluster.WaitForLeaderAsync(Topic, 1);
        await cluster.PauseAsync(paused);
        var pausedFor = Stopwatch.StartNew();
        await cluster.WaitForLeaderAsync(Topic, 1, other: paused);
        await producer.WaitForProgressAsync(cluster, 1, Progress, $"node {paused} paused");
        var sessionTimeout = TimeSpan.FromMilliseconds(ClusterNodeSettings.SessionTimeoutMs);
        if (pausedFor.Elapsed < sessionTimeout)
        {
            // Only a fenced node loses its leaderships, so this is not expected; it keeps the fault what it claims to be.
            await Task.Delay(sessionTimeout - pausedFor.Elapsed);
        }

        await cluster.UnpauseAsync(paused);
        await cluster.WaitForFullIsrAsync(Topic);

        // The leader of partition 2 loses the network: it can no longer reach min.insync.replicas, the other two elect a leader.
        var isolated = await cluster.WaitForLeaderAsync(Topic, 2);
        await cluster.DisconnectAsync(isolated);
        await cluster.WaitForLeaderAsync(Topic, 2, other: isolated);
        await producer.WaitForProgressAsync(cluster, 2, Progress, $"node {isolated} cut off");
        await cluster.ConnectAsync(isolated);
        await cluster.WaitForFullIsrAsync(Topic);
        for (var partition = 0; partition < Partitions; partition++)
        {
            await producer.WaitForProgressAsync(cluster, partition, Progress, "after every fault");
        }

        await producer.StopAsync(cluster);
        var toolData = producer.ToolData;
        Assert.True(toolData is { } data && data.GetProperty("sent").GetInt64() == data.GetProperty("acked").GetInt64(), $"not every record sent was acknowledged: {producer.Summary()}");
        await LogChecker.VerifyAsync(cluster, Topic, Partitions, producer, output);
        cluster.Log($"cluster test done in {wall.Elapsed.TotalSeconds:F0} s: {producer.Summary()}");
    }
}
