using System.Diagnostics;
using System.Globalization;
using Broker.IntegrationTests.Confluent;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Processes;

/// <summary>
/// The broker executable as a real process: SIGKILL under load must lose no acknowledged record, SIGTERM must
/// stop cleanly and leave the clean-shutdown marker.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class BrokerProcessTests
{
    private const string CleanShutdownMarker = ".kafka_cleanshutdown";
    private const int SigKillExitCode = 128 + 9;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(2);
    private readonly ITestOutputHelper _output;

    public BrokerProcessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task SigKillUnderLoad_RestartOnSameLogDir_EveryAcknowledgedRecordKeptOnceAtItsOffset()
    {
        const string topic = "crash-load";
        const int cycles = 3;
        using var logDir = new TempDirectory("broker-crash-");
        var port = BrokerProcess.FreePort();
        var acknowledged = new SortedDictionary<long, long>(); // sequence number -> acknowledged offset, all cycles
        var nextSequence = 0L;

        var broker = BrokerProcess.Start(logDir.Path, port, _output);
        try
        {
            await broker.WaitUntilReadyAsync(_output, ReadyTimeout);
            await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
            for (var cycle = 1; cycle <= cycles; cycle++)
            {
                var load = await ProduceUntilKilledAsync(broker, topic, nextSequence);
                nextSequence = load.NextSequence;
                foreach (var (sequence, offset) in load.Acknowledged)
                {
                    acknowledged.Add(sequence, offset);
                }

                Assert.True(broker.ExitCode == SigKillExitCode, $"Process.Kill() should SIGKILL the broker (exit code {SigKillExitCode}), got {broker.ExitCode}");
                Assert.False(File.Exists(Path.Combine(logDir.Path, CleanShutdownMarker)), "a SIGKILLed broker cannot have written a clean-shutdown marker; a stale one would skip recovery");
                _output.WriteLine($"cycle {cycle}: sent {load.Sent}, acknowledged {load.Acknowledged.Count}, failed {load.Failed} before/after SIGKILL");
                Assert.True(load.Acknowledged.Count > 0, $"cycle {cycle}: nothing was acknowledged during {LoadDuration.TotalSeconds} s of load");

                await broker.DisposeAsync();
                broker = BrokerProcess.Start(logDir.Path, port, _output);
                await broker.WaitUntilReadyAsync(_output, ReadyTimeout);
                VerifyLog(broker.BootstrapServers, topic, acknowledged, cycle);
            }
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task SigTerm_RunningBroker_ExitsZeroWithCleanShutdownMarkerAndRestartsWithData()
    {
        const int count = 200;
        using var logDir = new TempDirectory("broker-graceful-");
        var port = BrokerProcess.FreePort();
        var topic = KafkaClients.UniqueTopic("graceful");
        var marker = Path.Combine(logDir.Path, CleanShutdownMarker);
        var baseTimestamp = DateTimeOffset.UtcNow.AddMinutes(-30).ToUnixTimeMilliseconds();

        await using (var broker = BrokerProcess.Start(logDir.Path, port, _output))
        {
            await broker.WaitUntilReadyAsync(_output, ReadyTimeout);
            await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
            await ProduceAsync(broker.BootstrapServers, topic, 0, count, baseTimestamp);

            var clock = Stopwatch.StartNew();
            await broker.TerminateAsync(_output, TimeSpan.FromSeconds(10));
            _output.WriteLine($"exited {clock.Elapsed.TotalMilliseconds:F0} ms after SIGTERM with code {broker.ExitCode}");
            Assert.True(broker.ExitCode == 0, $"exit code after SIGTERM is {broker.ExitCode}, expected 0.{Environment.NewLine}{broker.Tail}");
            Assert.True(File.Exists(marker), $"{CleanShutdownMarker} is missing from {logDir.Path} after a graceful stop; it holds: {string.Join(", ", Directory.EnumerateFileSystemEntries(logDir.Path).Select(Path.GetFileName))}");
            _output.WriteLine($"{CleanShutdownMarker}: {await File.ReadAllTextAsync(marker)}");
        }

        await using (var broker = BrokerProcess.Start(logDir.Path, port, _output))
        {
            await broker.WaitUntilReadyAsync(_output, ReadyTimeout);
            Assert.False(File.Exists(marker), $"{CleanShutdownMarker} is still present while the restarted broker runs: a crash now would skip recovery");

            var records = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, topic, count, Timeout);
            TestRecords.AssertAll(records, count, baseTimestamp);

            // Appends continue after the recovered end.
            await ProduceAsync(broker.BootstrapServers, topic, count, 50, baseTimestamp);
            await broker.TerminateAsync(_output, TimeSpan.FromSeconds(10));
            Assert.True(broker.ExitCode == 0, $"exit code after the second SIGTERM is {broker.ExitCode}, expected 0.{Environment.NewLine}{broker.Tail}");
        }
    }

    private async Task ProduceAsync(string bootstrap, string topic, int first, int count, long baseTimestamp)
    {
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(bootstrap), _output);
        var tasks = Enumerable.Range(first, count).Select(i => producer.ProduceAsync(topic, TestRecords.Message(i, baseTimestamp))).ToList();
        var results = await Task.WhenAll(tasks).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(first, count).Select(i => (long)i), results.Select(r => r.Offset.Value));
    }

    /// <summary>
    /// Produces numbered values (acks=all, linger 5 ms, no retries so a value is written at most once) until
    /// <see cref="LoadDuration"/> has passed, SIGKILLs the broker mid-stream, then waits for every delivery report.
    /// </summary>
    private async Task<LoadResult> ProduceUntilKilledAsync(BrokerProcess broker, string topic, long firstSequence)
    {
        var config = KafkaClients.ProducerConfig(broker.BootstrapServers);
        config.LingerMs = 5;
        config.MessageSendMaxRetries = 0;
        config.EnableIdempotence = false; // librdkafka refuses idempotence without retries; this test wants none
        config.MessageTimeoutMs = 4000;
        config.RequestTimeoutMs = 4000;
        var acknowledged = new SortedDictionary<long, long>();
        var failed = 0;
        var sent = 0L;
        var next = firstSequence;
        // Once the broker is dead librdkafka reports every reconnect attempt; the first few are enough.
        var clientMessages = 0;
        void Report(string text)
        {
            if (Interlocked.Increment(ref clientMessages) <= 5)
            {
                TestOutput.TryWriteLine(_output, text);
            }
        }

        using var producer = new ProducerBuilder<Null, string>(config)
            .SetLogHandler((_, m) => Report($"producer {m.Level} {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => Report($"producer error: {e}"))
            .Build();

        void OnReport(long sequence, DeliveryReport<Null, string> report)
        {
            lock (acknowledged)
            {
                if (report.Error.IsError)
                {
                    failed++;
                }
                else
                {
                    acknowledged.Add(sequence, report.Offset.Value);
                }
            }
        }

        using var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < 20; i++)
                {
                    var sequence = next++;
                    try
                    {
                        producer.Produce(topic, new Message<Null, string> { Value = Format(sequence) }, report => OnReport(sequence, report));
                        sent++;
                    }
                    catch (ProduceException<Null, string> e)
                    {
                        // Queue full once the broker is gone: stop sending, the value was never handed over.
                        TestOutput.TryWriteLine(_output, $"produce of {sequence} refused locally: {e.Error}");
                        return;
                    }
                }

                await Task.Delay(1);
            }
        });

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < LoadDuration || AcknowledgedCount() == 0)
        {
            if (clock.Elapsed > Timeout)
            {
                Assert.Fail($"no acknowledgement within {Timeout.TotalSeconds} s of load.{Environment.NewLine}{broker.Tail}");
            }

            await Task.Delay(50);
        }

        var beforeKill = AcknowledgedCount();
        await broker.KillAsync(TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await loop.WaitAsync(Timeout);
        _output.WriteLine($"SIGKILL sent to {broker.Pid} after {clock.Elapsed.TotalSeconds:F1} s with {beforeKill} acknowledged");

        var pending = producer.Flush(TimeSpan.FromSeconds(20));
        Assert.True(pending == 0, $"{pending} delivery reports still outstanding 20 s after the kill");
        lock (acknowledged)
        {
            return new LoadResult(next, sent, failed, new SortedDictionary<long, long>(acknowledged));
        }

        int AcknowledgedCount()
        {
            lock (acknowledged)
            {
                return acknowledged.Count;
            }
        }
    }

    private void VerifyLog(string bootstrap, string topic, SortedDictionary<long, long> acknowledged, int cycle)
    {
        var partition = new TopicPartition(topic, 0);
        long high;
        using (var probe = KafkaClients.Consumer(KafkaClients.ConsumerConfig(bootstrap), _output))
        {
            var watermarks = probe.QueryWatermarkOffsets(partition, Timeout);
            Assert.Equal(0, watermarks.Low.Value);
            high = watermarks.High.Value;
        }

        var maxAcknowledged = acknowledged.Values.Max();
        Assert.True(high > maxAcknowledged, $"cycle {cycle}: after restart the log ends at {high}, but offset {maxAcknowledged} was acknowledged");

        var records = KafkaClients.ConsumeFromBeginning(bootstrap, _output, [partition], checked((int)high), TimeSpan.FromSeconds(60));
        Assert.True(records.Count == high, $"cycle {cycle}: high watermark {high} but only {records.Count} records could be read");

        var offsetOf = new Dictionary<long, long>();
        var previous = -1L;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            Assert.True(record.Offset.Value == i, $"cycle {cycle}: offsets not contiguous: position {i} holds offset {record.Offset.Value}");
            var sequence = long.Parse(record.Message.Value, CultureInfo.InvariantCulture);
            Assert.True(offsetOf.TryAdd(sequence, i), $"cycle {cycle}: value {sequence} is stored twice, at offsets {offsetOf.GetValueOrDefault(sequence)} and {i}");
            Assert.True(sequence > previous, $"cycle {cycle}: value {sequence} at offset {i} follows {previous}: not in send order");
            previous = sequence;
        }

        var lost = acknowledged.Where(a => !offsetOf.ContainsKey(a.Key)).Take(10).ToList();
        Assert.True(lost.Count == 0, $"cycle {cycle}: acknowledged values missing after restart (value@offset): {string.Join(", ", lost.Select(l => $"{l.Key}@{l.Value}"))}");
        var moved = acknowledged.Where(a => offsetOf[a.Key] != a.Value).Take(10).ToList();
        Assert.True(moved.Count == 0, $"cycle {cycle}: acknowledged values at other offsets (value: acknowledged -> stored): {string.Join(", ", moved.Select(m => $"{m.Key}: {m.Value} -> {offsetOf[m.Key]}"))}");
        _output.WriteLine($"cycle {cycle}: log holds {records.Count} records, {acknowledged.Count} acknowledged, {records.Count - acknowledged.Count} written without acknowledgement");
    }

    private static string Format(long sequence) => sequence.ToString("D12", CultureInfo.InvariantCulture);

    private sealed record LoadResult(long NextSequence, long Sent, int Failed, SortedDictionary<long, long> Acknowledged);
}
