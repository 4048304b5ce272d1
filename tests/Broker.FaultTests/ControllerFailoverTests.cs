using Broker.FaultTests.Infrastructure;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>The active controller (the metadata quorum's leader) SIGKILLed under produce load. Not thread-safe: one instance per test.</summary>
public sealed class ControllerFailoverTests
{
    private const string Topic = "controller-kill";
    private const int Partitions = 3;
    private readonly ITestOutputHelper _output;

    public ControllerFailoverTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task SigKillQuorumLeader_UnderLoad_NewLeaderElectedTopicsCreatableAndPartitionsKeepServing()
    {
        await using var cluster = await ProcessCluster.StartAsync(_output);
        await cluster.CreateTopicAsync(Topic, Partitions);
        await using var producer = new SequenceProducer(cluster.BootstrapServers, Topic, Partitions, _output);
        producer.Start();
        var (controller, epoch) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        for (var partition = 0; partition < Partitions; partition++)
        {
            await producer.WaitForAcknowledgementsAsync(cluster, partition, 0, "before the kill");
        }

        var leaders = Enumerable.Range(0, Partitions).Select(p => cluster.Partition(Topic, p).Leader).ToArray();
        await cluster.KillAsync(controller);

        // Partitions the survivors lead keep acknowledging right after the kill, while the quorum elects a new leader.
        var served = Enumerable.Range(0, Partitions).Where(p => leaders[p] != controller).ToArray();
        var counts = served.Select(producer.AcknowledgedCount).ToArray();
        for (var i = 0; i < served.Length; i++)
        {
            await producer.WaitForAcknowledgementsAsync(cluster, served[i], counts[i], $"partition {served[i]} is led by survivor {leaders[served[i]]}");
        }

        var (successor, newEpoch) = await cluster.WaitForQuorumLeaderAsync((node, e) => node != controller && e > epoch, $"a new quorum leader after node {controller} in an epoch above {epoch}");
        _output.WriteLine($"quorum leader {controller} (epoch {epoch}) killed; node {successor} leads in epoch {newEpoch}");

        // The new controller works: it fences the dead node (leaderships move, ISRs shrink) and creates topics.
        for (var partition = 0; partition < Partitions; partition++)
        {
            var p = partition;
            await cluster.WaitUntilAsync(() =>
            {
                var metadata = cluster.Partition(Topic, p);
                return metadata.Leader != controller && metadata.Leader > 0 && !metadata.InSyncReplicas.Contains(controller);
            }, $"partition {p} is led by a survivor with node {controller} out of its ISR");
            await producer.WaitForAcknowledgementsAsync(cluster, p, producer.AcknowledgedCount(p), $"partition {p} after the failover");
        }

        await cluster.CreateTopicEventuallyAsync("after-failover", 2, 2);

        cluster.Start(controller);
        await cluster.WaitForFullIsrAsync(Topic, Partitions);
        await producer.StopAsync();
        Assert.True(producer.FatalError is null, $"the idempotent producer failed fatally: {producer.FatalError}");
        await LogChecker.VerifyAsync(cluster, Topic, Partitions, producer, _output);
    }
}
