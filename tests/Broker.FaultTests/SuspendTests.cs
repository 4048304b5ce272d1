using Broker.FaultTests.Infrastructure;
using Broker.Protocol.Messages;
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
        // Fenced once its session expired: Metadata lists it among the partition's offline replicas, as Kafka does.
        await cluster.WaitUntilAsync(async () =>
            (await cluster.SendAsync<MetadataResponse>(leader, new MetadataRequest { Topics = [new() { Name = Topic }] }, 12))
                .Topics.Single().Partitions.All(p => p.OfflineReplicas.Contains(follower)),
            $"Metadata from node {leader} lists the fenced node {follower} as an offline replica of every partition");
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

    [Fact]
    public async Task SigStopFollower_LongerThanReplicaLagShorterThanSession_LeavesIsrUnfencedAndCatchesUpUnderLoad()
    {
        // A follower that falls behind without losing its session: frozen longer than replica.lag.time.max.ms (1.5 s)
        // but well inside broker.session.timeout.ms (Kafka's 9 s), so its leader drops it from the ISR while the
        // controller still counts it as a live, unfenced broker. acks=all keeps being acknowledged by the remaining two
        // (min.insync.replicas 2), and once resumed the follower catches up and is taken back into the ISR.
        await using var cluster = await ProcessCluster.StartAsync(_output, ("replica.lag.time.max.ms", "1500"), ("broker.session.timeout.ms", "9000"));
        const string topic = "lagging";
        await cluster.CreateTopicAsync(topic, 1);
        await using var producer = new SequenceProducer(cluster.BootstrapServers, topic, 1, _output);
        producer.Start();
        await producer.WaitForAcknowledgementsAsync(cluster, 0, 0, "before the follower falls behind");

        // Neither the partition's leader nor the quorum's: freezing the active controller would add a controller failover
        // (election, then the partition leader finding the new controller) to the ISR shrink this test times.
        var leader = cluster.Partition(topic, 0).Leader;
        var (controller, _) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        var follower = cluster.Nodes.First(n => n != leader && n != controller);
        await cluster.SuspendAsync(follower);
        var frozenAt = DateTime.UtcNow;
        var droppedWhileRegistered = false;
        try
        {
            // Asked of the leader itself: a Metadata call that picked the frozen node would wait out its timeout.
            await cluster.WaitUntilAsync(async () =>
            {
                var metadata = await cluster.SendAsync<MetadataResponse>(leader, new MetadataRequest { Topics = [new() { Name = topic }] }, 12);
                var isr = metadata.Topics.Single().Partitions.Single().IsrNodes;
                droppedWhileRegistered = !isr.Contains(follower) && metadata.Brokers.Any(b => b.NodeId == follower);
                return droppedWhileRegistered || !metadata.Brokers.Any(b => b.NodeId == follower);
            }, $"frozen follower {follower} leaves the ISR of {topic}-0", TimeSpan.FromSeconds(5));
            if (droppedWhileRegistered)
            {
                await producer.WaitForAcknowledgementsAsync(cluster, 0, producer.AcknowledgedCount(0), $"follower {follower} is frozen, out of the ISR", TimeSpan.FromSeconds(2.5));
            }
        }
        finally
        {
            _output.WriteLine($"follower {follower} frozen for {(DateTime.UtcNow - frozenAt).TotalMilliseconds:F0} ms");
            await cluster.ResumeAsync(follower);
        }

        Assert.True(droppedWhileRegistered, $"follower {follower} was fenced (missing from Metadata's brokers) before its leader dropped it from the ISR");
        await cluster.WaitForInSyncAsync(topic, 0, follower);
        await producer.WaitForAcknowledgementsAsync(cluster, 0, producer.AcknowledgedCount(0), $"follower {follower} is back in the ISR");
        await producer.StopAsync();
        Assert.True(producer.FatalError is null, $"the idempotent producer failed fatally: {producer.FatalError}");
        await LogChecker.VerifyAsync(cluster, topic, 1, producer, _output);
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
