using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

namespace Broker.Cli.Perf;

/// <summary>
/// <c>verifiable-producer</c>, after Apache Kafka's tool of that name (used by its system tests): produces the values
/// "0", "1", "2" ... and prints one JSON line per event (<c>startup_complete</c>, <c>producer_send_success</c> with the
/// acknowledged partition and offset, <c>producer_send_error</c>, <c>tool_data</c>, <c>shutdown_complete</c>) so that
/// a checker can read the topic back and verify every acknowledged record. Unlike Kafka's tool it sends value n to
/// partition n % <c>--partitions</c> (so the checker knows where every record belongs) and defaults to an idempotent
/// acks=all producer. Immutable after construction.
/// </summary>
internal sealed class VerifiableProducerCommand
{
    public VerifiableProducerCommand()
    {
        Command = new Command("verifiable-producer", "Produce the values 0, 1, 2 ... and print every acknowledgement (partition, offset, value) as a JSON line, like Kafka's verifiable producer.")
        {
            BootstrapServer, Topic, Partitions, MaxMessages, Throughput, ProducerProperties,
        };
        Command.SetAction((result, ct) => VerifiableProducer.RunCommandAsync(Bind(result), result.InvocationConfiguration.Output, ct));
    }

    public Command Command { get; }

    public Option<string> BootstrapServer { get; } = PerfOptionFactory.BootstrapServer();

    public Option<string> Topic { get; } = PerfOptionFactory.Topic();

    public Option<int> Partitions { get; } = new("--partitions")
    {
        Description = "Value n goes to partition n % partitions.",
        HelpName = "n",
        DefaultValueFactory = _ => 1,
        CustomParser = PerfOptionFactory.Checked<int>("--partitions", v => v > 0, "a positive number"),
    };

    public Option<long> MaxMessages { get; } = new("--max-messages")
    {
        Description = "Records to send; -1 sends until SIGTERM or SIGINT.",
        HelpName = "n",
        DefaultValueFactory = _ => -1,
        CustomParser = PerfOptionFactory.Checked<long>("--max-messages", v => v > 0 || v == -1, "a positive number or -1"),
    };

    public Option<double> Throughput { get; } = new("--throughput")
    {
        Description = "Cap in records/sec; -1 for no limit.",
        HelpName = "records/sec",
        DefaultValueFactory = _ => -1,
        CustomParser = PerfOptionFactory.Checked<double>("--throughput", v => v != 0 && double.IsFinite(v), "a positive rate, or -1 for no limit"),
    };

    public Option<string[]> ProducerProperties { get; } = PerfOptionFactory.ClientProperties("--producer-property", "Producer");

    public VerifiableProducerOptions Bind(ParseResult result) => new(
        result.GetValue(BootstrapServer)!,
        result.GetValue(Topic)!,
        result.GetValue(Partitions),
        result.GetValue(MaxMessages),
        result.GetValue(Throughput),
        KeyValueArguments.Parse(result.GetValue(ProducerProperties), ProducerProperties.Name));
}

/// <summary>Settings of <c>verifiable-producer</c>. Immutable.</summary>
internal sealed record VerifiableProducerOptions(
    string BootstrapServers,
    string Topic,
    int Partitions,
    long MaxMessages,
    double Throughput,
    IReadOnlyDictionary<string, string> ProducerProperties)
{
    /// <summary>Idempotent and acks=all unless <c>--producer-property</c> says otherwise.</summary>
    public ProducerConfig ToProducerConfig()
    {
        var config = new ProducerConfig { BootstrapServers = BootstrapServers, Acks = Acks.All, EnableIdempotence = true };
        foreach (var (key, value) in ProducerProperties)
        {
            config.Set(key, value);
        }

        return config;
    }
}

/// <summary>
/// The run of <c>verifiable-producer</c>. The send loop is owned by the calling thread; delivery reports arrive on the
/// client's poll thread, and every output line is written under one lock so lines never interleave. One delivery
/// delegate serves every record (the report carries the value), so a record costs its value string and its output line.
/// </summary>
internal sealed class VerifiableProducer
{
    private readonly VerifiableProducerOptions _options;
    private readonly TextWriter _output;
    private readonly TimeProvider _time;
    private readonly Lock _outputLock = new();
    private readonly StringBuilder _line = new();
    private readonly Action<DeliveryReport<Null, string>> _onDelivered;
    private long _acked;
    private long _failed;

    public VerifiableProducer(VerifiableProducerOptions options, TextWriter output, TimeProvider time)
    {
        _options = options;
        _output = output;
        _time = time;
        _onDelivered = OnDelivered;
    }

    /// <summary>Runs until <see cref="VerifiableProducerOptions.MaxMessages"/> are sent or <paramref name="ct"/> fires; 1 if any record failed.</summary>
    public static async Task<int> RunCommandAsync(VerifiableProducerOptions options, TextWriter output, CancellationToken ct)
    {
        BundledLibrdkafka.Load();
        var producer = new VerifiableProducer(options, output, TimeProvider.System);

        // Produce blocks when the client queue is full, so keep the loop off the caller's thread.
        var failed = await Task.Factory.StartNew(() => producer.Run(ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .ConfigureAwait(false);
        return failed > 0 ? 1 : 0;
    }

    /// <summary>Sends, then waits until every record sent is acknowledged or failed (bounded by message.timeout.ms); returns the failures.</summary>
    public long Run(CancellationToken ct)
    {
        var throttler = new ThroughputThrottler(_options.Throughput);
        var sent = 0L;
        var start = _time.GetTimestamp();
        using (var producer = new ProducerBuilder<Null, string>(_options.ToProducerConfig())
            .SetErrorHandler((_, e) => WriteEvent("client_error", e.Reason))
            .SetLogHandler(static (_, _) => { })
            .Build())
        {
            WriteEvent("startup_complete", null);
            var message = new Message<Null, string> { Value = string.Empty };
            var partitions = new TopicPartition[_options.Partitions];
            for (var i = 0; i < partitions.Length; i++)
            {
                partitions[i] = new TopicPartition(_options.Topic, new Partition(i));
            }

            while ((_options.MaxMessages < 0 || sent < _options.MaxMessages) && !ct.IsCancellationRequested)
            {
                message.Value = sent.ToString(CultureInfo.InvariantCulture);
                try
                {
                    producer.Produce(partitions[sent % partitions.Length], message, _onDelivered);
                }
                catch (ProduceException<Null, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // The client queue is full while a partition has no leader: send the same value again shortly.
                    Thread.Sleep(10);
                    continue;
                }
                catch (ProduceException<Null, string> e)
                {
                    // A fatal error (an idempotent producer that gave up): nothing more can be sent.
                    WriteEvent("client_error", e.Error.Reason);
                    break;
                }

                sent++;
                var pause = throttler.PauseFor(sent, _time.GetElapsedTime(start));
                if (pause > TimeSpan.Zero)
                {
                    ct.WaitHandle.WaitOne(pause);
                }
            }

            producer.Flush(Timeout.InfiniteTimeSpan);
        }

        var elapsed = _time.GetElapsedTime(start).TotalSeconds;
        lock (_outputLock)
        {
            _line.Clear()
                .Append(CultureInfo.InvariantCulture, $"{{\"timestamp\":{Now()},\"name\":\"tool_data\",\"sent\":{sent},\"acked\":{_acked},")
                .Append(CultureInfo.InvariantCulture, $"\"failed\":{_failed},\"target_throughput\":{_options.Throughput},\"avg_throughput\":{(elapsed > 0 ? sent / elapsed : 0):F1}}}");
            _output.WriteLine(_line);
        }

        WriteEvent("shutdown_complete", null);
        _output.Flush();
        lock (_outputLock)
        {
            return _failed;
        }
    }

    private void OnDelivered(DeliveryReport<Null, string> report)
    {
        lock (_outputLock)
        {
            _line.Clear().Append(CultureInfo.InvariantCulture, $"{{\"timestamp\":{Now()},");
            if (report.Error.IsError)
            {
                _failed++;
                _line.Append(CultureInfo.InvariantCulture, $"\"name\":\"producer_send_error\",\"exception\":\"{report.Error.Code}\",\"message\":\"")
                    .Append(JsonEncodedText.Encode(report.Error.Reason).Value)
                    .Append(CultureInfo.InvariantCulture, $"\",\"topic\":\"{_options.Topic}\",\"key\":null,\"value\":\"{report.Message.Value}\"}}");
            }
            else
            {
                _acked++;
                _line.Append(CultureInfo.InvariantCulture, $"\"name\":\"producer_send_success\",\"topic\":\"{_options.Topic}\",\"partition\":{report.Partition.Value},")
                    .Append(CultureInfo.InvariantCulture, $"\"offset\":{report.Offset.Value},\"key\":null,\"value\":\"{report.Message.Value}\"}}");
            }

            _output.WriteLine(_line);
        }
    }

    private void WriteEvent(string name, string? message)
    {
        lock (_outputLock)
        {
            _line.Clear().Append(CultureInfo.InvariantCulture, $"{{\"timestamp\":{Now()},\"name\":\"{name}\"");
            if (message is not null)
            {
                _line.Append(",\"message\":\"").Append(JsonEncodedText.Encode(message).Value).Append('"');
            }

            _output.WriteLine(_line.Append('}'));
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
