using Broker.FaultTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>Brokers frozen with SIGSTOP past the session timeout and resumed with SIGCONT under produce load. Not thread-safe: one instance per test.</summary>
public sealed class SuspendTests
{
    private const string Topic = "suspend";
    private const int Partitions = 3;
    private readonly ITestOutputHelper _output;

    public SuspendTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task SigStopFollowerThenLeader_PastSessionTimeout_LeadershipMovesStaleLeaderFencedNodesCatchUp()
    {
        await using var cluster = await ProcessCluster.StartAsync(_output);
        await cluster.CreateTopicAsync(Topic, Partitions);
        await using var producer = new SequenceProducer(cluster.BootstrapServers, Topic, Partitions, _output);
        producer.Start();
        await producer.WaitForAcknowledgementsAsync(cluster, 0, 0, "before the first suspension");

        // A follower of partition 0: fenced once its session expires, so it leaves every ISR and leads nothing.
        var leader = cluster.Partition(Topic, 0).Leader;
        var follower = cluster.Nodes.First(n => n != leader);
        await cluster.SuspendAsync(follower);
        await WaitUntilOutOfEveryPartitionAsync(cluster, follower);
        await producer.WaitForAcknowledgementsAsync(cluster, 0, producer.AcknowledgedCount(0), $"follower {follower} is frozen");
        await cluster.ResumeAsync(follower);
        await cluster.WaitForFullIsrAsync(Topic, Partitions);
        _output.WriteLine($"follower {follower} frozen and back; {producer.Summary()}");

        // The leader of partition 0: a new leader takes over while it is frozen.
        leader = await cluster.WaitForLeaderAsync(Topic, 0, _ => true, "a leader");
        await cluster.SuspendAsync(leader);
        var successor = await cluster.WaitForLeaderAsync(Topic, 0, l => l != leader, $"a leader other than the frozen node {leader}");
        await producer.WaitForAcknowledgementsAsync(cluster, 0, producer.AcknowledgedCount(0), $"leader {leader} is frozen, node {successor} leads");
        await WaitUntilOutOfEveryPartitionAsync(cluster, leader);

        // A write that reaches the stale leader: the kernel accepts the connection and buffers the request while the
        // process is frozen, so it is the first thing the old leader reads when it resumes, still believing it leads. It must
        // not be acknowledged (the followers left it, and its epoch is fenced), and it must not survive in the log.
        var stale = cluster.ProduceRawAsync(leader, Topic, 0, "stale-leader-write");
        await Task.Delay(500); // lets the request reach the frozen broker's socket; the assertions below hold either way
        await cluster.ResumeAsync(leader);
        var staleError = await stale.WaitAsync(ProcessCluster.WaitTimeout);
        _output.WriteLine($"the resumed stale leader {leader} answered {staleError}");
        Assert.True(staleError != ErrorCode.NoError, $"the resumed stale leader {leader} acknowledged an acks=all write after node {successor} took over");

        await cluster.WaitForFullIsrAsync(Topic, Partitions);
        await producer.StopAsync();
        Assert.True(producer.FatalError is null, $"the idempotent producer failed fatally: {producer.FatalError}");
        await LogChecker.VerifyAsync(cluster, Topic, Partitions, producer, _output);
    }

    private static async Task WaitUntilOutOfEveryPartitionAsync(ProcessCluster cluster, int node)
    {
        for (var partition = 0; partition < Partitions; partition++)
        {
            var p = partition;
            await cluster.WaitUntilAsync(() =>
            {
                var metadata = cluster.Partition(Topic, p);
                return metadata.Leader > 0 && metadata.Leader != node && !metadata.InSyncReplicas.Contains(node);
            }, $"frozen node {node} neither leads partition {p} nor is in its ISR");
        }
    }
}
