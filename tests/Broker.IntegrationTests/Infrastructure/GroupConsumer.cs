using System.Collections.Concurrent;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// A Confluent.Kafka consumer subscribed through a group, polled on its own thread until disposed: records every
/// (partition, offset) it receives, its current assignment and how many times partitions were assigned or revoked.
/// Thread-safe.
/// </summary>
internal sealed class GroupConsumer : IDisposable
{
    private readonly IConsumer<string, string> _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly Lock _lock = new();
    private List<TopicPartition> _assignment = [];
    private int _assignedEvents;
    private int _revokedEvents;

    public GroupConsumer(ConsumerConfig config, string topic, ITestOutputHelper output, string name)
    {
        Name = name;
        _consumer = new ConsumerBuilder<string, string>(config)
            .SetErrorHandler((_, e) => TestOutput.TryWriteLine(output, $"{name} error: {e}"))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                Interlocked.Increment(ref _assignedEvents);
                TestOutput.TryWriteLine(output, $"{name} assigned {string.Join(",", partitions.Select(p => p.Partition.Value))}");
            })
            .SetPartitionsRevokedHandler((_, partitions) =>
            {
                Interlocked.Increment(ref _revokedEvents);
                TestOutput.TryWriteLine(output, $"{name} revoked {string.Join(",", partitions.Select(p => p.Partition.Value))}");
            })
            .Build();
        _consumer.Subscribe(topic);
        _thread = new Thread(Poll) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public string Name { get; }

    public ConcurrentDictionary<(int Partition, long Offset), string> Received { get; } = new();

    public string MemberId => _consumer.MemberId;

    public int AssignedEvents => Volatile.Read(ref _assignedEvents);

    public int RevokedEvents => Volatile.Read(ref _revokedEvents);

    public List<int> Assignment
    {
        get
        {
            lock (_lock)
            {
                return _assignment.Select(p => p.Partition.Value).Order().ToList();
            }
        }
    }

    private void Poll()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var result = _consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result is not null && !result.IsPartitionEOF)
                {
                    Received[(result.Partition.Value, result.Offset.Value)] = result.Message.Value;
                }
            }
            catch (ConsumeException)
            {
                // Reported through the error handler; keep polling like an application would.
            }

            lock (_lock)
            {
                _assignment = _consumer.Assignment.ToList();
            }
        }
    }

    /// <summary>Stops polling and closes the consumer (commits, and leaves the group unless it is a static member).</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }

    /// <summary>Waits until the members together own every partition exactly once.</summary>
    public static async Task WaitForExclusiveAssignmentAsync(IReadOnlyCollection<GroupConsumer> members, int partitions, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var all = members.SelectMany(m => m.Assignment).ToList();
            if (all.Count == partitions && all.Distinct().Count() == partitions && members.All(m => m.Assignment.Count > 0))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"partitions never owned exactly once: {string.Join("; ", members.Select(m => $"{m.Name}=[{string.Join(",", m.Assignment)}]"))}");
    }

    /// <summary>Waits until the members together received <paramref name="expected"/> distinct records.</summary>
    public static async Task WaitForRecordsAsync(IReadOnlyCollection<GroupConsumer> members, IEnumerable<GroupConsumer> departed, int expected, TimeSpan timeout)
    {
        var everyone = members.Concat(departed).ToList();
        var deadline = DateTime.UtcNow + timeout;
        int count;
        do
        {
            count = everyone.SelectMany(m => m.Received.Keys).Distinct().Count();
            if (count >= expected)
            {
                return;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"only {count} of {expected} records were received");
    }
}
