using System.Globalization;
using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Broker.Protocol.Messages;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>
/// A librdkafka group consumer across a SIGKILL of its group coordinator. One instance per test; the consume loop
/// and the test thread share the seen set under its lock.
/// </summary>
public sealed class GroupFailoverTests
{
    private const string Topic = "group-failover";
    private const string Group = "failover-group";
    private const int Partitions = 3;
    private readonly ITestOutputHelper _output;
    private readonly HashSet<long> _seen = [];
    private long _consumed;

    public GroupFailoverTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task SigKillGroupCoordinator_WhileConsuming_EveryAcknowledgedRecordSeenAndCommittedOffsetsSurvive()
    {
        await using var cluster = await ProcessCluster.StartAsync(_output);
        await cluster.CreateTopicAsync(Topic, Partitions);
        await using var producer = new SequenceProducer(cluster.BootstrapServers, Topic, Partitions, _output);
        producer.Start();

        using var consumer = KafkaClients.Consumer(KafkaClients.GroupConsumerConfig(cluster.BootstrapServers, Group), _output);
        consumer.Subscribe(Topic);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => Consume(consumer, stop.Token));
        try
        {
            await cluster.WaitUntilAsync(() => Consumed > 200, "the group consumer reads records");
            var before = await WaitForCommittedAsync(cluster, (_, _) => true, "every partition has a committed offset");
            var coordinator = await CoordinatorAsync(cluster);
            var consumedAtKill = Consumed;
            await cluster.KillAsync(coordinator);

            await cluster.WaitUntilAsync(async () => await CoordinatorAsync(cluster) != coordinator, $"the group's coordinator moves off the killed node {coordinator}");
            await cluster.WaitUntilAsync(() => Consumed > consumedAtKill + 200, $"the consumer goes on after coordinator {coordinator} died (consumed {Consumed})");
            // The new coordinator loaded what was committed before the kill, and takes new commits.
            var after = await WaitForCommittedAsync(cluster, (p, offset) => offset > before[p], "every committed offset moved past its value before the kill");
            _output.WriteLine($"coordinator {coordinator} killed; committed offsets [{string.Join(',', before)}] before, [{string.Join(',', after)}] from the new coordinator");

            await producer.StopAsync();
            Assert.True(producer.FatalError is null, $"the idempotent producer failed fatally: {producer.FatalError}");
            var acknowledged = Enumerable.Range(0, Partitions).SelectMany(p => producer.Acknowledged(p).Keys).ToArray();
            await cluster.WaitUntilAsync(() => Missing(acknowledged).Count == 0, $"the consumer saw every acknowledged record ({producer.Summary()}, missing e.g. {string.Join(',', Missing(acknowledged).Take(10))})");
        }
        finally
        {
            await stop.CancelAsync();
            await loop;
        }

        // Closing commits the final positions: the committed offsets are the partitions' ends.
        consumer.Close();
        var ends = Enumerable.Range(0, Partitions).Select(p => producer.Acknowledged(p).Values.Max(o => o.Value) + 1).ToArray();
        await WaitForCommittedAsync(cluster, (p, offset) => offset >= ends[p], $"the committed offsets reach the partition ends [{string.Join(',', ends)}]");
    }

    private long Consumed => Interlocked.Read(ref _consumed);

    private List<long> Missing(long[] acknowledged)
    {
        lock (_seen)
        {
            return [.. acknowledged.Where(s => !_seen.Contains(s))];
        }
    }

    private void Consume(IConsumer<string, string> consumer, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            lock (_seen)
            {
                _seen.Add(long.Parse(result.Message.Value, CultureInfo.InvariantCulture));
            }

            Interlocked.Increment(ref _consumed);
        }
    }

    /// <summary>
    /// FindCoordinator (v3) asked of each running node in turn: the first error-free answer. Raw requests rather than
    /// librdkafka's admin calls, whose cached coordinator kept timing out against the killed node for a minute once.
    /// </summary>
    private static async Task<int> CoordinatorAsync(ProcessCluster cluster)
    {
        foreach (var node in cluster.RunningNodes.ToArray())
        {
            var found = await cluster.SendAsync<FindCoordinatorResponse>(node, new FindCoordinatorRequest { Key = Group, KeyType = 0 }, 3);
            if (found.ErrorCode == 0)
            {
                return found.NodeId;
            }
        }

        return -1;
    }

    /// <summary>Waits until the group's coordinator has a committed offset for every partition, each accepted by <paramref name="accept"/>; returns them by partition.</summary>
    private static async Task<long[]> WaitForCommittedAsync(ProcessCluster cluster, Func<int, long, bool> accept, string what)
    {
        var offsets = new long[Partitions];
        await cluster.WaitUntilAsync(async () =>
        {
            var coordinator = await CoordinatorAsync(cluster);
            if (coordinator < 0 || !cluster.IsRunning(coordinator))
            {
                return false;
            }

            var fetched = await cluster.SendAsync<OffsetFetchResponse>(coordinator, new OffsetFetchRequest
            {
                GroupId = Group,
                Topics = [new OffsetFetchRequest.OffsetFetchRequestTopic { Name = Topic, PartitionIndexes = [.. Enumerable.Range(0, Partitions)] }],
            }, 7);
            var committed = fetched.Topics.SingleOrDefault()?.Partitions;
            if (fetched.ErrorCode != 0 || committed is null || committed.Count != Partitions
                || committed.Any(p => p.ErrorCode != 0 || p.CommittedOffset < 0 || !accept(p.PartitionIndex, p.CommittedOffset)))
            {
                return false;
            }

            foreach (var partition in committed)
            {
                offsets[partition.PartitionIndex] = partition.CommittedOffset;
            }

            return true;
        }, what);
        return offsets;
    }
}
