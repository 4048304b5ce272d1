using System.Globalization;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.FaultTests.Infrastructure;

/// <summary>
/// A Confluent.Kafka idempotent producer (acks=all) that sends sequence numbers 0, 1, 2 ... round-robin to the
/// partitions of one topic at a steady rate from a background task until stopped, and records which were acknowledged
/// at which offset and which failed with which error. Thread-safe: delivery reports arrive on librdkafka's thread.
/// </summary>
internal sealed class SequenceProducer : IAcknowledgedSequences, IAsyncDisposable
{
    private const int BatchPerTick = 5;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);

    private readonly IProducer<string, string> _producer;
    private readonly string _topic;
    private readonly int _partitions;
    private readonly ITestOutputHelper _output;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Offset>[] _acknowledged;
    private readonly Dictionary<ErrorCode, int> _failures = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _sent;
    private string? _fatal;

    public SequenceProducer(string bootstrap, string topic, int partitions, ITestOutputHelper output)
    {
        _topic = topic;
        _partitions = partitions;
        _output = output;
        _acknowledged = [.. Enumerable.Range(0, partitions).Select(_ => new Dictionary<long, Offset>())];
        var config = KafkaClients.ProducerConfig(bootstrap);
        // Retried across every failover a test provokes: a record is only given up after two minutes.
        config.MessageTimeoutMs = 120_000;
        config.RequestTimeoutMs = 10_000;
        config.TopicMetadataRefreshIntervalMs = 1000;
        _producer = new ProducerBuilder<string, string>(config)
            .SetErrorHandler((_, e) =>
            {
                TestOutput.TryWriteLine(output, $"producer error: {e}");
                if (e.IsFatal)
                {
                    lock (_lock)
                    {
                        _fatal ??= e.ToString();
                    }
                }
            })
            .Build();
    }

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Sequence numbers are values of records in partition <c>sequence % partitions</c>.</summary>
    public int PartitionOf(long sequence) => (int)(sequence % _partitions);

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>How many records of a partition were acknowledged so far.</summary>
    public int AcknowledgedCount(int partition)
    {
        lock (_lock)
        {
            return _acknowledged[partition].Count;
        }
    }

    /// <summary>Acknowledged sequence numbers of a partition with the offsets the broker reported.</summary>
    public Dictionary<long, Offset> Acknowledged(int partition)
    {
        lock (_lock)
        {
            return new Dictionary<long, Offset>(_acknowledged[partition]);
        }
    }

    /// <summary>The first fatal error librdkafka raised (an idempotent producer that gave up), or null.</summary>
    public string? FatalError
    {
        get
        {
            lock (_lock)
            {
                return _fatal;
            }
        }
    }

    public string Summary()
    {
        lock (_lock)
        {
            var acknowledged = _acknowledged.Sum(a => a.Count);
            var failures = string.Join(", ", _failures.Select(f => $"{f.Key} x{f.Value}"));
            var fatal = _fatal is null ? "" : $"; FATAL producer error: {_fatal}";
            return $"sent {Sent}, acknowledged {acknowledged}, failed {_failures.Values.Sum()} ({(failures.Length == 0 ? "none" : failures)}){fatal}";
        }
    }

    /// <summary>Waits until partition <paramref name="partition"/> has more than <paramref name="count"/> acknowledged records.</summary>
    public Task WaitForAcknowledgementsAsync(ProcessCluster cluster, int partition, int count, string why, TimeSpan? timeout = null) =>
        cluster.WaitUntilAsync(() => AcknowledgedCount(partition) > count, $"the producer gets acknowledgements from partition {partition} ({why}; {Summary()})", timeout);

    /// <summary>Stops sending and waits until every record sent is acknowledged or failed.</summary>
    public async Task StopAsync()
    {
        if (_loop is null)
        {
            return;
        }

        await _stop.CancelAsync();
        await _loop;
        _loop = null;
        var remaining = _producer.Flush(TimeSpan.FromSeconds(150));
        Assert.True(remaining == 0, $"{remaining} records neither acknowledged nor failed after flushing ({Summary()})");
        TestOutput.TryWriteLine(_output, $"producer stopped: {Summary()}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _producer.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var sequence = 0L;
        while (!cancellationToken.IsCancellationRequested)
        {
            for (var i = 0; i < BatchPerTick; i++)
            {
                var current = sequence;
                var value = current.ToString(CultureInfo.InvariantCulture);
                try
                {
                    _producer.Produce(new TopicPartition(_topic, PartitionOf(current)), new Message<string, string> { Value = value }, report => OnDelivery(current, report));
                }
                catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // Backpressure while a partition has no leader: this sequence number is sent on the next tick.
                    break;
                }
                catch (ProduceException<string, string> e)
                {
                    // The producer failed fatally (see FatalError): nothing more can be sent, the test reports why.
                    lock (_lock)
                    {
                        _fatal ??= e.Error.ToString();
                    }

                    return;
                }

                sequence++;
                Interlocked.Increment(ref _sent);
            }

            try
            {
                await Task.Delay(Tick, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void OnDelivery(long sequence, DeliveryReport<string, string> report)
    {
        lock (_lock)
        {
            if (report.Error.IsError)
            {
                _failures[report.Error.Code] = _failures.GetValueOrDefault(report.Error.Code) + 1;
                return;
            }

            _acknowledged[report.Partition.Value].Add(sequence, report.Offset);
        }
    }
}
