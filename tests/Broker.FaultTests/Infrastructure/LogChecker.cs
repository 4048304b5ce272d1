using System.Globalization;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.FaultTests.Infrastructure;

/// <summary>What <see cref="LogChecker"/> reads from: where to connect and how to wait (with the cluster's diagnostics on a timeout). Implementations are thread-safe.</summary>
internal interface ICheckedCluster
{
    string BootstrapServers { get; }

    Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null);
}

/// <summary>What <see cref="LogChecker"/> checks against: a producer of sequence numbers and what it was told was acknowledged. Implementations are thread-safe.</summary>
internal interface IAcknowledgedSequences
{
    /// <summary>Acknowledged sequence numbers of a partition with the offsets the broker reported.</summary>
    Dictionary<long, Offset> Acknowledged(int partition);

    /// <summary>The partition a sequence number was sent to.</summary>
    int PartitionOf(long sequence);

    /// <summary>Sent, acknowledged and failed counts for a failure message.</summary>
    string Summary();
}

/// <summary>
/// Reads every partition a producer of sequence numbers (<see cref="IAcknowledgedSequences"/>) wrote back from its leader, from the log start to the high
/// watermark, and checks that every acknowledged sequence number is there exactly once at the offset it was
/// acknowledged with, that no sequence number (acknowledged or not) appears twice or in the wrong partition, that no
/// record the producer did not send is there, and that each partition holds its sequence numbers in produce order. Thread-safe (no state).
/// </summary>
internal static class LogChecker
{
    private const int ExamplesPerKind = 10;

    public static Task VerifyAsync(ICheckedCluster cluster, string topic, int partitions, IAcknowledgedSequences producer, ITestOutputHelper output) =>
        VerifyAsync(cluster, topic, Enumerable.Range(0, partitions), producer, output);

    /// <summary>The checks for some partitions only (when the others have no leader to read from).</summary>
    public static Task VerifyAsync(ICheckedCluster cluster, string topic, IEnumerable<int> partitions, IAcknowledgedSequences producer, ITestOutputHelper output) =>
        VerifyAsync(topic, partitions, partition => ReadPartitionAsync(cluster, new TopicPartition(topic, partition), output), producer, output);

    /// <summary>
    /// The checks over records read by <paramref name="read"/>: every record of a partition from its log start to its
    /// high watermark, as (offset, sequence number or -1 for anything else), in offset order.
    /// </summary>
    public static async Task VerifyAsync(string topic, IEnumerable<int> partitions, Func<int, Task<List<(long Offset, long Sequence)>>> read,
        IAcknowledgedSequences producer, ITestOutputHelper output)
    {
        var problems = new Problems();
        var summary = new StringBuilder();
        foreach (var partition in partitions)
        {
            var records = await read(partition);
            var acknowledged = producer.Acknowledged(partition);
            Check(partition, records, acknowledged, producer, problems);
            summary.Append(CultureInfo.InvariantCulture, $"partition {partition}: {records.Count} records, {acknowledged.Count} acknowledged; ");
        }

        output.WriteLine($"checker: {summary}");
        Assert.True(problems.Count == 0, $"{problems.Count} problems in {topic} ({producer.Summary()}; {summary}):{Environment.NewLine}{problems}");
    }

    private static void Check(int partition, List<(long Offset, long Sequence)> records, Dictionary<long, Offset> acknowledged, IAcknowledgedSequences producer, Problems problems)
    {
        var found = new Dictionary<long, long>(records.Count);
        var previous = -1L;
        foreach (var (offset, sequence) in records)
        {
            if (sequence < 0)
            {
                problems.Add("foreign", $"partition {partition} holds a record at offset {offset} that the producer did not send");
                continue;
            }

            if (producer.PartitionOf(sequence) != partition)
            {
                problems.Add("misplaced", $"sequence {sequence} at offset {offset} of partition {partition} was sent to partition {producer.PartitionOf(sequence)}");
            }

            if (!found.TryAdd(sequence, offset))
            {
                problems.Add("duplicated", $"sequence {sequence} in partition {partition} at offsets {found[sequence]} and {offset}{(acknowledged.ContainsKey(sequence) ? " (acknowledged)" : "")}");
            }

            if (sequence <= previous)
            {
                problems.Add("reordered", $"partition {partition}: sequence {sequence} at offset {offset} follows sequence {previous}");
            }

            previous = Math.Max(previous, sequence);
        }

        foreach (var (sequence, offset) in acknowledged.OrderBy(a => a.Key))
        {
            if (!found.TryGetValue(sequence, out var actual))
            {
                problems.Add("lost", $"acknowledged sequence {sequence} (partition {partition}, offset {offset.Value}) is missing");
            }
            else if (actual != offset.Value)
            {
                problems.Add("moved", $"acknowledged sequence {sequence} (partition {partition}) was acknowledged at offset {offset.Value} but is at {actual}");
            }
        }
    }

    private static async Task<List<(long Offset, long Sequence)>> ReadPartitionAsync(ICheckedCluster cluster, TopicPartition partition, ITestOutputHelper output)
    {
        using var consumer = KafkaClients.Consumer(KafkaClients.ConsumerConfig(cluster.BootstrapServers), output);
        var watermarks = new WatermarkOffsets(Offset.Unset, Offset.Unset);
        await cluster.WaitUntilAsync(() =>
        {
            watermarks = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(5));
            return true;
        }, $"the watermarks of {partition} are known");

        var records = new List<(long Offset, long Sequence)>();
        if (watermarks.High.Value <= watermarks.Low.Value)
        {
            return records;
        }

        consumer.Assign(new TopicPartitionOffset(partition, watermarks.Low));
        var last = watermarks.Low.Value - 1;
        await cluster.WaitUntilAsync(() =>
        {
            while (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } result)
            {
                if (!result.IsPartitionEOF)
                {
                    // Anything but a sequence number (a test's stray write) becomes -1, which the checks report as foreign.
                    records.Add((result.Offset.Value, long.TryParse(result.Message.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) ? sequence : -1));
                    last = result.Offset.Value;
                }

                if (last >= watermarks.High.Value - 1)
                {
                    break;
                }
            }

            return last >= watermarks.High.Value - 1;
        }, $"{partition} is read up to its high watermark {watermarks.High.Value} (read up to {last})");
        consumer.Close();
        return records;
    }

    /// <summary>Problems by kind, with the first few examples of each. Not thread-safe: one check fills it.</summary>
    private sealed class Problems
    {
        private readonly SortedDictionary<string, (int Count, List<string> Examples)> _byKind = new(StringComparer.Ordinal);

        public int Count => _byKind.Values.Sum(k => k.Count);

        public void Add(string kind, string example)
        {
            var entry = _byKind.GetValueOrDefault(kind, (0, []));
            if (entry.Examples.Count < ExamplesPerKind)
            {
                entry.Examples.Add(example);
            }

            _byKind[kind] = (entry.Count + 1, entry.Examples);
        }

        public override string ToString()
        {
            var text = new StringBuilder();
            foreach (var (kind, (count, examples)) in _byKind)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{count} {kind}, e.g.:");
                foreach (var example in examples)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"  {example}");
                }
            }

            return text.ToString();
        }
    }
}
