using System.Globalization;
using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
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
            var before = await WaitForCommittedAsync(cluster, _ => true, "every partition has a committed offset");
            var coordinator = await CoordinatorAsync(cluster);
            var consumedAtKill = Consumed;
            await cluster.KillAsync(coordinator);

            await cluster.WaitUntilAsync(async () => await CoordinatorAsync(cluster) != coordinator, $"the group's coordinator moves off the killed node {coordinator}");
            await cluster.WaitUntilAsync(() => Consumed > consumedAtKill + 200, $"the consumer goes on after coordinator {coordinator} died (consumed {Consumed})");
            // The new coordinator loaded what was committed before the kill, and takes new commits.
            var after = await WaitForCommittedAsync(cluster, p => p.Offset.Value > before[p.Partition.Value], "every committed offset moved past its value before the kill");
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
        await WaitForCommittedAsync(cluster, p => p.Offset.Value >= ends[p.Partition.Value], $"the committed offsets reach the partition ends [{string.Join(',', ends)}]");
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

    private static async Task<int> CoordinatorAsync(ProcessCluster cluster)
    {
        var described = await cluster.Admin.DescribeConsumerGroupsAsync([Group], new DescribeConsumerGroupsOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        return described.ConsumerGroupDescriptions.Single().Coordinator?.Id ?? -1;
    }

    /// <summary>Waits until the group has a committed offset for every partition, each accepted by <paramref name="accept"/>; returns them by partition.</summary>
    private static async Task<long[]> WaitForCommittedAsync(ProcessCluster cluster, Func<TopicPartitionOffsetError, bool> accept, string what)
    {
        var offsets = new long[Partitions];
        await cluster.WaitUntilAsync(async () =>
        {
            var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)).ToList();
            var listed = await cluster.Admin.ListConsumerGroupOffsetsAsync(
                [new ConsumerGroupTopicPartitions(Group, partitions)], new ListConsumerGroupOffsetsOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
            var committed = listed.Single().Partitions;
            if (committed.Count != Partitions || committed.Any(p => p.Error.IsError || p.Offset.Value < 0 || !accept(p)))
            {
                return false;
            }

            foreach (var partition in committed)
            {
                offsets[partition.Partition.Value] = partition.Offset.Value;
            }

            return true;
        }, what);
        return offsets;
    }
}
