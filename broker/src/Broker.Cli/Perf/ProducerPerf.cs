using Confluent.Kafka;

namespace Broker.Cli.Perf;

/// <summary>
/// The producer perf run: sends <see cref="ProducerPerfOptions.NumRecords"/> copies of one value with
/// <c>Produce</c> and a delivery callback, and measures send-to-delivery latency. Per record it allocates
/// nothing of its own: the value buffer and message are reused, and each in-flight record borrows a pooled
/// tracker whose callback delegate was created once. The run loop is owned by the calling thread; delivery
/// callbacks arrive on the client's poll thread.
/// </summary>
internal sealed class ProducerPerf
{
    private const int MaxErrorsPrinted = 10;
    private static readonly TimeSpan CancelledFlushTimeout = TimeSpan.FromSeconds(10);

    private readonly ProducerPerfOptions _options;
    private readonly TextWriter _output;
    private readonly TextWriter _error;
    private readonly TimeProvider _time;
    private readonly LatencyRecorder _recorder;
    private readonly Stack<PendingSend> _pool = new();
    private readonly Lock _poolLock = new();
    private long _errorsPrinted;

    public ProducerPerf(ProducerPerfOptions options, TextWriter output, TextWriter error, TimeProvider time)
    {
        _options = options;
        _output = output;
        _error = error;
        _time = time;
        _recorder = new LatencyRecorder(options.NumRecords, time, options.ReportInterval);
    }

    public static async Task<int> RunCommandAsync(ProducerPerfOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        BundledLibrdkafka.Load();
        var perf = new ProducerPerf(options, output, error, TimeProvider.System);
        try
        {
            // Produce blocks when the client queue is full, so keep the loop off the caller's thread.
            var summary = await Task.Factory.StartNew(() => perf.Run(ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
            return summary.Errors > 0 ? 1 : 0;
        }
        catch (KafkaException e)
        {
            await error.WriteLineAsync($"error: {e.Error.Reason}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>Runs to completion (or until cancelled, then reports what was delivered) and prints the summary.</summary>
    public ProducerPerfSummary Run(CancellationToken ct)
    {
        var value = CreatePayload(_options.RecordSize);
        var message = new Message<Null, byte[]> { Value = value };
        var throttler = new ThroughputThrottler(_options.Throughput);
        using (var producer = new ProducerBuilder<Null, byte[]>(_options.ToProducerConfig())
            .SetErrorHandler((_, e) => PrintError($"client error: {e.Reason}"))
            .SetLogHandler(static (_, _) => { }) // The error handler reports what matters, without librdkafka's retry chatter.
            .Build())
        {
            var start = _time.GetTimestamp();
            for (long sent = 0; sent < _options.NumRecords && !ct.IsCancellationRequested; sent++)
            {
                var pending = Rent();
                pending.SentAt = _time.GetTimestamp();
                ProduceWithRetry(producer, message, pending, ct);
                if (!throttler.IsUnlimited)
                {
                    var pause = throttler.PauseFor(sent + 1, _time.GetElapsedTime(start));
                    if (pause > TimeSpan.Zero)
                    {
                        Thread.Sleep(pause);
                    }
                }
            }

            if (ct.IsCancellationRequested)
            {
                producer.Flush(CancelledFlushTimeout);
            }
            else
            {
                producer.Flush(Timeout.InfiniteTimeSpan);
            }
        }

        var summary = _recorder.Summarize();
        _output.WriteLine(PerfFormat.ProducerSummary(summary));
        return summary;
    }

    /// <summary>A value of the given size filled with letters A-Z, like Kafka's perf tool, from a fixed seed.</summary>
    public static byte[] CreatePayload(int size)
    {
        var payload = new byte[size];
#pragma warning disable CA5394 // Not security relevant: filler bytes for a benchmark.
        var random = new Random(42);
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)('A' + random.Next(26));
        }
#pragma warning restore CA5394

        return payload;
    }

    private void ProduceWithRetry(IProducer<Null, byte[]> producer, Message<Null, byte[]> message, PendingSend pending, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                producer.Produce(_options.Topic, message, pending.Handler);
                return;
            }
            catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull && !ct.IsCancellationRequested)
            {
                // Only when the client is configured not to block: wait for deliveries to drain the queue.
                Thread.Sleep(1);
            }
            catch
            {
                Return(pending);
                throw;
            }
        }
    }

    private void OnDelivered(PendingSend pending, DeliveryReport<Null, byte[]> report)
    {
        var latency = _time.GetElapsedTime(pending.SentAt);
        Return(pending);
        if (report.Error.IsError)
        {
            _recorder.RecordError();
            PrintError($"delivery failed: {report.Error.Reason}");
            return;
        }

        if (_recorder.Record(latency, _options.RecordSize) is { } window)
        {
            _output.WriteLine(PerfFormat.ProducerProgress(window));
        }
    }

    private void PrintError(string text)
    {
        if (Interlocked.Increment(ref _errorsPrinted) <= MaxErrorsPrinted)
        {
            _error.WriteLine(text);
        }
    }

    private PendingSend Rent()
    {
        lock (_poolLock)
        {
            if (_pool.TryPop(out var pending))
            {
                return pending;
            }
        }

        return new PendingSend(this);
    }

    private void Return(PendingSend pending)
    {
        lock (_poolLock)
        {
            _pool.Push(pending);
        }
    }

    /// <summary>One in-flight record's send time; its delivery delegate is bound once and reused.</summary>
    private sealed class PendingSend
    {
        public PendingSend(ProducerPerf owner) => Handler = report => owner.OnDelivered(this, report);

        public long SentAt { get; set; }

        public Action<DeliveryReport<Null, byte[]>> Handler { get; }
    }
}
