using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Broker.Server.Observability;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// KRaft controlled shutdown on three in-process nodes over real sockets: a stopping broker asks the active controller
/// to move its leaderships away before it closes its listeners, while an idempotent acks=all producer keeps writing.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ControlledShutdownTests
{
    private const int Partitions = 2;
    private readonly ITestOutputHelper _output;

    public ControlledShutdownTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DisposeAsync_PartitionLeaderStops_LeadershipsMoveBeforeListenersCloseAndProducerLosesNothing(bool stopQuorumLeader)
    {
        var topic = KafkaClients.UniqueTopic("cs");
        await using var cluster = await RaftCluster.StartAsync(_output);
        var (quorumLeader, _) = await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Values.Count(b => !b.Fenced) == 3),
            "every node sees three unfenced brokers");
        var stopping = stopQuorumLeader ? quorumLeader : cluster.RunningNodes.First(n => n != quorumLeader);
        var others = cluster.RunningNodes.Where(n => n != stopping).ToArray();

        // Every partition prefers the stopping node, so it leads them all (a manual assignment, sent to the controller).
        var created = await cluster.SendAsync<CreateTopicsResponse>(quorumLeader, new CreateTopicsRequest
        {
            TimeoutMs = 30_000,
            Topics =
            [
                new CreateTopicsRequest.CreatableTopic
                {
                    Name = topic,
                    NumPartitions = -1,
                    ReplicationFactor = -1,
                    Assignments = [.. Enumerable.Range(0, Partitions).Select(p => new CreateTopicsRequest.CreatableReplicaAssignment
                    {
                        PartitionIndex = p,
                        BrokerIds = [stopping, others[0], others[1]],
                    })],
                    Configs = [new CreateTopicsRequest.CreatableTopicConfig { Name = "min.insync.replicas", Value = "2" }],
                },
            ],
        }, 7);
        Assert.Equal(0, Assert.Single(created.Topics).ErrorCode);

        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n =>
                cluster.Node(n).Metadata.TopicsByName.TryGetValue(topic, out var info)
                && info.Partitions.All(p => p.Leader == stopping && p.Isr.Length == 3)),
            $"node {stopping} leads every partition of {topic} with a full ISR");

        // The producer only knows the survivors: its metadata moves to the new leaders once they are elected.
        var bootstrap = string.Join(',', others.Select(n => cluster.Node(n).BootstrapServers));
        var acknowledged = new List<string>();
        var failures = new List<string>();
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(bootstrap), _output);
        using var stopProducing = new CancellationTokenSource();
        var sent = 0;
        var producing = Task.Run(async () =>
        {
            while (!stopProducing.IsCancellationRequested)
            {
                var value = $"v{sent++}";
                producer.Produce(topic, new Message<string, string> { Key = value, Value = value }, report =>
                {
                    lock (failures)
                    {
                        if (report.Error.Code == global::Confluent.Kafka.ErrorCode.NoError)
                        {
                            acknowledged.Add(report.Message.Value);
                        }
                        else
                        {
                            failures.Add($"{report.Message.Value}: {report.Error.Code} {report.Error.Reason}");
                        }
                    }
                });
                await Task.Delay(2);
            }
        });

        await InProcessCluster.WaitUntilAsync(() => { lock (failures) { return acknowledged.Count >= 200; } }, "the producer gets going");
        var stopped = cluster.Node(stopping);

        // The states the stopping broker reports, sampled on a thread of its own (the pending phase lasts at least one
        // heartbeat round of the other brokers, hundreds of milliseconds).
        var states = new List<BrokerState> { stopped.State };
        var sampling = true;
        var sampler = new Thread(() =>
        {
            while (Volatile.Read(ref sampling))
            {
                var state = stopped.State;
                if (states[^1] != state)
                {
                    states.Add(state);
                }

                Thread.Sleep(1);
            }
        });
        sampler.Start();
        var stopWatch = System.Diagnostics.Stopwatch.StartNew();
        await cluster.StopNodeAsync(stopping);
        TestOutput.TryWriteLine(_output, $"node {stopping} stopped with a controlled shutdown in {stopWatch.ElapsedMilliseconds} ms");
        Volatile.Write(ref sampling, false);
        sampler.Join();

        // The sampler may have stopped between its last look and the final state.
        if (states[^1] != stopped.State)
        {
            states.Add(stopped.State);
        }

        Assert.Equal([BrokerState.Running, BrokerState.PendingControlledShutdown, BrokerState.ShuttingDown, BrokerState.NotRunning], states);

        // What the stopping node's last responses could say: its partitions already led elsewhere, itself in controlled
        // shutdown. A stop without a controlled shutdown would still show it leading everything here.
        var last = stopped.ImageAtListenerStop!;
        Assert.All(last.TopicsByName[topic].Partitions, p => Assert.NotEqual(stopping, p.Leader));
        Assert.True(last.Brokers[stopping].InControlledShutdown);

        await InProcessCluster.WaitUntilAsync(() => { lock (failures) { return acknowledged.Count >= 400; } }, "the producer goes on after the stop");
        await stopProducing.CancelAsync();
        await producing;
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        lock (failures)
        {
            Assert.Empty(failures);
        }

        // The grant fenced the stopped node at the controller; the other node's image follows.
        await InProcessCluster.WaitUntilAsync(() => others.All(n => cluster.Node(n).Metadata.Brokers[stopping] is { Fenced: true, InControlledShutdown: true }),
            $"the survivors see node {stopping} fenced in controlled shutdown");
        foreach (var node in others)
        {
            var image = cluster.Node(node).Metadata;
            Assert.All(image.TopicsByName[topic].Partitions, p =>
            {
                Assert.Contains(p.Leader, others);
                Assert.DoesNotContain(stopping, p.Isr);
            });
        }

        // Every acknowledged record is there exactly once, each partition in production order.
        var records = KafkaClients.ConsumeFromBeginning(bootstrap, _output,
            Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p)), acknowledged.Count, TimeSpan.FromSeconds(60));
        Assert.Equal(acknowledged.OrderBy(v => v, StringComparer.Ordinal), records.Select(r => r.Message.Value).OrderBy(v => v, StringComparer.Ordinal));
        foreach (var partition in records.GroupBy(r => r.Partition.Value))
        {
            var sequence = partition.OrderBy(r => r.Offset.Value).Select(r => int.Parse(r.Message.Value[1..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(sequence.Order(), sequence);
        }

        TestOutput.TryWriteLine(_output, $"{acknowledged.Count} records acknowledged across the controlled shutdown of node {stopping}");
    }
}
