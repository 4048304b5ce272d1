using Broker.IntegrationTests.Infrastructure;
using Broker.Server;
using ErrorCode = Broker.Protocol.ErrorCode;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Cluster;

/// <summary>
/// Partition replication across three in-process brokers sharing one metadata store, driven by librdkafka clients:
/// byte-identical replicas, ISR shrink and rejoin, min.insync.replicas, leadership moves and divergent-log truncation.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ReplicationTests
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _output;

    public ReplicationTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private async Task CreateReplicatedTopicAsync(InProcessCluster cluster, string topic)
    {
        using var admin = KafkaClients.Admin(cluster.BootstrapServers, _output);
        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3, Configs = new() { ["min.insync.replicas"] = "2" } }],
            new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
            .WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Produces values prefix-0 .. prefix-(count-1) with an idempotent acks=all producer; returns the delivery reports.</summary>
    /// <param name="afterEach">Called after each record is handed to the producer, with the number delivered so far.</param>
    private List<DeliveryReport<string, string>> Produce(string bootstrap, string topic, string prefix, int count, Action<int, Func<int>>? afterEach = null)
    {
        var reports = new List<DeliveryReport<string, string>>();
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(bootstrap), _output);
        for (var i = 0; i < count; i++)
        {
            producer.Produce(topic, new Message<string, string> { Key = $"{prefix}-{i}", Value = $"{prefix}-{i}" }, report =>
            {
                lock (reports)
                {
                    reports.Add(report);
                }
            });
            afterEach?.Invoke(i, () =>
            {
                lock (reports)
                {
                    return reports.Count;
                }
            });
        }

        producer.Flush(FlushTimeout);
        lock (reports)
        {
            Assert.Equal(count, reports.Count);
            Assert.All(reports, r => Assert.False(r.Error.IsError, r.Error.ToString()));
            return [.. reports];
        }
    }

    private static Task WaitForReplicasAsync(InProcessCluster cluster, string topic, long logEnd, params int[] nodes) =>
        InProcessCluster.WaitUntilAsync(() => nodes.All(n =>
            cluster.Broker(n).Replicas.Get(topic, 0) is { } p && p.Log.LogEndOffset == logEnd && p.Log.HighWatermark == logEnd),
            $"brokers {string.Join(',', nodes)} hold {topic} up to {logEnd} with that high watermark");

    private static Task WaitForIsrAsync(InProcessCluster cluster, string topic, int size) =>
        InProcessCluster.WaitUntilAsync(() => cluster.PartitionState(topic).Isr.Length == size, $"the ISR of {topic} has {size} members");

    private static void AssertIdenticalReplicas(InProcessCluster cluster, string topic, params int[] nodes)
    {
        var reference = cluster.LogBytes(nodes[0], topic);
        var epochs = cluster.Broker(nodes[0]).Replicas.Get(topic, 0)!.Log.LeaderEpochs.Entries;
        foreach (var node in nodes[1..])
        {
            Assert.Equal(reference, cluster.LogBytes(node, topic));
            Assert.Equal(epochs, cluster.Broker(node).Replicas.Get(topic, 0)!.Log.LeaderEpochs.Entries);
        }
    }

    [Fact]
    public async Task Produce_AcksAllToReplicationFactorThree_EveryReplicaByteIdenticalWithIsrOfThree()
    {
        await using var cluster = await InProcessCluster.StartAsync(_output);
        const string topic = "replicated";
        await CreateReplicatedTopicAsync(cluster, topic);
        var state = cluster.PartitionState(topic);
        Assert.Equal(3, state.Replicas.Length);

        const int count = 5_000;
        var reports = Produce(cluster.BootstrapServers, topic, "r", count);

        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), reports.Select(r => r.Offset.Value).Order());
        await WaitForReplicasAsync(cluster, topic, count, 1, 2, 3);
        await WaitForIsrAsync(cluster, topic, 3);
        AssertIdenticalReplicas(cluster, topic, 1, 2, 3);

        // Only the leader takes produce; a follower serves consumer fetches (v11+, KIP-392) up to its high watermark, as
        // Kafka's followers do whether or not a replica selector sends consumers there.
        var follower = state.Replicas.First(r => r != state.Leader);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, await cluster.ProduceRawAsync(follower, topic, acks: -1, count: 1));
        Assert.Equal(ErrorCode.None, await cluster.FetchRawAsync(follower, topic));
        Assert.Equal(ErrorCode.None, await cluster.FetchRawAsync(state.Leader, topic));

        var consumed = KafkaClients.ConsumeFromBeginning(cluster.BootstrapServers, _output, topic, count, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"r-{i}"), consumed.Select(c => c.Message.Value));
    }

    [Fact]
    public async Task FollowersStopped_IsrShrinksAndAcksAllNeedsMinIsr_RestartedFollowersCatchUpAndRejoin()
    {
        await using var cluster = await InProcessCluster.StartAsync(_output, ("replica.lag.time.max.ms", "3000"));
        const string topic = "shrinking";
        await CreateReplicatedTopicAsync(cluster, topic);
        var leader = cluster.PartitionState(topic).Leader;
        var followers = cluster.PartitionState(topic).Replicas.Where(r => r != leader).ToArray();
        Produce(cluster.BootstrapServers, topic, "a", 100);

        await cluster.StopBrokerAsync(followers[0]);
        Produce(cluster.BootstrapServers, topic, "b", 100); // completes once the ISR shrank to two
        await WaitForIsrAsync(cluster, topic, 2);
        Assert.DoesNotContain(followers[0], cluster.PartitionState(topic).Isr);
        Assert.Equal(ErrorCode.None, await cluster.ProduceRawAsync(leader, topic, acks: -1, count: 5));

        // As in Kafka, a stopped follower leaves the ISR only once it is behind the leader's log end for the lag time.
        await cluster.StopBrokerAsync(followers[1]);
        Assert.Equal(ErrorCode.None, await cluster.ProduceRawAsync(leader, topic, acks: 1, count: 5));
        await WaitForIsrAsync(cluster, topic, 1);
        Assert.Equal(ErrorCode.NotEnoughReplicas, await cluster.ProduceRawAsync(leader, topic, acks: -1, count: 5));
        Assert.Equal(1, await UnderReplicatedPartitionsAsync(cluster.Broker(leader)));

        await cluster.StartBrokerAsync(followers[0]);
        await cluster.StartBrokerAsync(followers[1]);
        await WaitForIsrAsync(cluster, topic, 3);
        await WaitForReplicasAsync(cluster, topic, 210, leader, followers[0], followers[1]);
        AssertIdenticalReplicas(cluster, topic, leader, followers[0], followers[1]);
        Assert.Equal(0, await UnderReplicatedPartitionsAsync(cluster.Broker(leader)));
    }

    /// <summary>kafka_server_replicamanager_underreplicatedpartitions as the broker's Prometheus endpoint reports it.</summary>
    private static async Task<int> UnderReplicatedPartitionsAsync(RunningBroker broker)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await client.GetStringAsync(new Uri($"http://{broker.MetricsEndPoint}/metrics"));
        const string name = "kafka_server_replicamanager_underreplicatedpartitions ";
        var line = text.Split('\n').Single(l => l.StartsWith(name, StringComparison.Ordinal));
        return (int)double.Parse(line[name.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task LeaderMoved_WhileProducing_ProducerRecoversAndEveryAcknowledgedRecordIsReadOnceInOrder()
    {
        await using var cluster = await InProcessCluster.StartAsync(_output);
        const string topic = "moving";
        await CreateReplicatedTopicAsync(cluster, topic);
        var oldLeader = cluster.PartitionState(topic).Leader;
        var newLeader = cluster.PartitionState(topic).Replicas.First(r => r != oldLeader);
        const int count = 3_000;

        Produce(cluster.BootstrapServers, topic, "m", count, afterEach: (i, delivered) =>
        {
            if (i == count / 2)
            {
                // Once records are acknowledged by the old leader, move: later batches meet NOT_LEADER_OR_FOLLOWER there.
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (delivered() < 100 && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(10);
                }

                cluster.MoveLeaderAsync(topic, newLeader).GetAwaiter().GetResult();
            }

            if (i % 100 == 0)
            {
                Thread.Sleep(5); // spread the records over time so some are in flight when leadership moves
            }
        });

        Assert.Equal(newLeader, cluster.PartitionState(topic).Leader);
        await WaitForIsrAsync(cluster, topic, 3);
        await WaitForReplicasAsync(cluster, topic, count, 1, 2, 3);
        AssertIdenticalReplicas(cluster, topic, 1, 2, 3);

        // Both leaders wrote: the new epoch starts inside the log, after the first records.
        var epochs = cluster.Broker(newLeader).Replicas.Get(topic, 0)!.Log.LeaderEpochs.Entries;
        Assert.Equal(2, epochs.Count);
        Assert.InRange(epochs[1].StartOffset, 100, count - 1);
        // The log end is exactly count (checked above), so reading count records sees everything the partition holds.
        var consumed = KafkaClients.ConsumeFromBeginning(cluster.BootstrapServers, _output, topic, count, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"m-{i}"), consumed.Select(c => c.Message.Value));
    }

    [Fact]
    public async Task OldLeaderWithDivergentUncommittedData_TruncatesAndThenMatchesTheNewLeader()
    {
        await using var cluster = await InProcessCluster.StartAsync(_output);
        const string topic = "diverging";
        await CreateReplicatedTopicAsync(cluster, topic);
        var oldLeader = cluster.PartitionState(topic).Leader;
        var followers = cluster.PartitionState(topic).Replicas.Where(r => r != oldLeader).ToArray();
        Produce(cluster.BootstrapServers, topic, "c", 50);
        await WaitForReplicasAsync(cluster, topic, 50, 1, 2, 3);

        // The followers go away; the leader takes an acks=1 batch nobody else has: uncommitted (HW stays at 50).
        await cluster.StopBrokerAsync(followers[0]);
        await cluster.StopBrokerAsync(followers[1]);
        Assert.Equal(ErrorCode.None, await cluster.ProduceRawAsync(oldLeader, topic, acks: 1, count: 10));
        var oldLog = cluster.Broker(oldLeader).Replicas.Get(topic, 0)!.Log;
        Assert.Equal(60, oldLog.LogEndOffset);
        Assert.Equal(50, oldLog.HighWatermark);

        // The controller elects another ISR member; it comes back and leads a new epoch from offset 50.
        await cluster.MoveLeaderAsync(topic, followers[0]);
        await cluster.StartBrokerAsync(followers[0]);
        await cluster.StartBrokerAsync(followers[1]);
        Produce(cluster.BootstrapServers, topic, "d", 20);

        await WaitForReplicasAsync(cluster, topic, 70, 1, 2, 3);
        AssertIdenticalReplicas(cluster, topic, followers[0], oldLeader, followers[1]);
        var consumed = KafkaClients.ConsumeFromBeginning(cluster.BootstrapServers, _output, topic, 70, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"c-{i}").Concat(Enumerable.Range(0, 20).Select(i => $"d-{i}")), consumed.Select(c => c.Message.Value));
    }
}
