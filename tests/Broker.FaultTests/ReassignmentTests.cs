using Broker.FaultTests.Infrastructure;
using Broker.Protocol.Messages;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>AlterPartitionReassignments moving replicas, with their data, between real broker processes. Not thread-safe: one instance per test.</summary>
public sealed class ReassignmentTests
{
    private const string Topic = "reassign";
    private const int Partitions = 2;
    private readonly ITestOutputHelper _output;

    public ReassignmentTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task AlterPartitionReassignments_UnderLoad_ReplicasMoveWithDataIntactAndNothingStaysListed()
    {
        await using var cluster = await ProcessCluster.StartAsync(_output);
        // RF 1 on node 1, moved to node 3 (partition 1 also gains a replica on node 2); min.insync.replicas 1 so acks=all
        // is served throughout.
        await cluster.Admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = Topic,
            NumPartitions = Partitions,
            ReplicationFactor = -1,
            ReplicasAssignments = new() { [0] = [1], [1] = [1] },
            Configs = new() { ["min.insync.replicas"] = "1" },
        }]);
        await cluster.WaitForFullIsrAsync(Topic, Partitions);
        await using var producer = new SequenceProducer(cluster.BootstrapServers, Topic, Partitions, _output);
        producer.Start();
        for (var partition = 0; partition < Partitions; partition++)
        {
            await producer.WaitForAcknowledgementsAsync(cluster, partition, 500, "before the reassignment");
        }

        int[][] targets = [[3], [3, 2]];
        var (controller, _) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        var altered = await cluster.SendAsync<AlterPartitionReassignmentsResponse>(controller, new AlterPartitionReassignmentsRequest
        {
            TimeoutMs = 30_000,
            Topics =
            [
                new AlterPartitionReassignmentsRequest.ReassignableTopic
                {
                    Name = Topic,
                    Partitions = [.. targets.Select((replicas, p) => new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = p, Replicas = [.. replicas] })],
                },
            ],
        }, 0);
        Assert.Equal(0, altered.ErrorCode);
        Assert.All(altered.Responses.Single().Partitions, p => Assert.True(p.ErrorCode == 0, $"partition {p.PartitionIndex}: error {p.ErrorCode} {p.ErrorMessage}"));

        var lastListed = "";
        await cluster.WaitUntilAsync(async () =>
        {
            var listed = await cluster.SendAsync<ListPartitionReassignmentsResponse>(controller, new ListPartitionReassignmentsRequest { TimeoutMs = 10_000, Topics = null }, 0);
            var ongoing = string.Join("; ", listed.Topics.SelectMany(t => t.Partitions.Select(p =>
                $"{t.Name}-{p.PartitionIndex} replicas [{string.Join(',', p.Replicas)}] adding [{string.Join(',', p.AddingReplicas)}] removing [{string.Join(',', p.RemovingReplicas)}]")));
            if (ongoing != lastListed)
            {
                lastListed = ongoing;
                _output.WriteLine($"ongoing reassignments: {(ongoing.Length == 0 ? "none" : ongoing)}");
            }

            return listed.ErrorCode == 0 && listed.Topics.Count == 0;
        }, "ListPartitionReassignments lists nothing ongoing");

        // Kafka's completion: exactly the target replicas, all in sync, the removed leader replaced by the first target replica.
        for (var partition = 0; partition < Partitions; partition++)
        {
            var p = partition;
            await cluster.WaitUntilAsync(() =>
            {
                var metadata = cluster.Partition(Topic, p);
                return metadata.Replicas.Order().SequenceEqual(targets[p].Order()) && metadata.InSyncReplicas.Order().SequenceEqual(targets[p].Order())
                    && metadata.Leader == targets[p][0];
            }, $"partition {p} has replicas and ISR [{string.Join(',', targets[p])}] led by node {targets[p][0]}");
        }

        // The removed replica's copy is deleted from node 1's log dir.
        await cluster.WaitUntilAsync(() => !Enumerable.Range(0, Partitions).Any(p => Directory.Exists(Path.Combine(cluster.LogDir(1), $"{Topic}-{p}"))),
            $"node 1 no longer holds {Topic}-0 or {Topic}-1");

        // Every record reads back from the new leader (node 3, which had no copy before), once, in order, where it was acknowledged.
        await producer.WaitForAcknowledgementsAsync(cluster, 0, producer.AcknowledgedCount(0), "after the reassignment");
        await producer.StopAsync();
        Assert.True(producer.FatalError is null, $"the idempotent producer failed fatally: {producer.FatalError}");
        await LogChecker.VerifyAsync(cluster, Topic, Partitions, producer, _output);
    }
}
