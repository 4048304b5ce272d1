using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Broker.Cli.Perf;

/// <summary>Options shared by the perf commands. Stateless; thread-safe.</summary>
internal static class PerfOptionFactory
{
    public static Option<string> BootstrapServer() => new("--bootstrap-server")
    {
        Description = "host:port of the broker(s) to connect to.",
        HelpName = "host:port",
        DefaultValueFactory = _ => "127.0.0.1:9092",
    };

    public static Option<string> Topic() => new("--topic") { Description = "Topic to use.", Required = true };

    public static Option<long> ReportIntervalMs() => new("--report-interval-ms")
    {
        Description = "Milliseconds between progress lines.",
        HelpName = "ms",
        DefaultValueFactory = _ => 5000,
        CustomParser = Checked<long>("--report-interval-ms", v => v > 0, "a positive number"),
    };

    public static Option<string[]> ClientProperties(string name, string what) => new(name)
    {
        Description = $"{what} configuration key=value (librdkafka names); wins over the options above. Repeatable.",
        HelpName = "key=value",
        Validators = { result => ValidateKeyValues(result, name) },
    };

    /// <summary>
    /// A parser that reports unparsable and out-of-range values as parse errors; validators would run after a
    /// failed conversion and throw when they read the value.
    /// </summary>
    public static Func<ArgumentResult, T> Checked<T>(string optionName, Func<T, bool> isValid, string expected)
        where T : ISpanParsable<T> =>
        result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (T.TryParse(text, CultureInfo.InvariantCulture, out var value) && isValid(value))
            {
                return value;
            }

            result.AddError($"Invalid value '{text}' for {optionName}: expected {expected}.");
            return default!;
        };

    private static void ValidateKeyValues(OptionResult result, string name)
    {
        try
        {
            KeyValueArguments.Parse(result.GetValueOrDefault<string[]>(), name);
        }
        catch (FormatException e)
        {
            result.AddError(e.Message);
        }
    }
}

/// <summary><c>perf produce</c>: its options, their binding, and the action. Immutable after construction.</summary>
internal sealed class ProducePerfCommand
{
    public ProducePerfCommand()
    {
        Acks.AcceptOnlyFromAmong(ProducerPerfOptions.AcksValues);
        Compression.AcceptOnlyFromAmong(ProducerPerfOptions.CompressionValues);

        Command = new Command("produce", "Send records as fast as allowed and report throughput and send-to-acknowledgement latency.")
        {
            BootstrapServer, Topic, NumRecords, RecordSize, Acks, LingerMs, Compression, BatchSize, Throughput, ProducerProperties, ReportIntervalMs,
        };
        Command.SetAction((result, ct) => ProducerPerf.RunCommandAsync(Bind(result), result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct));
    }

    public Command Command { get; }

    public Option<string> BootstrapServer { get; } = PerfOptionFactory.BootstrapServer();

    public Option<string> Topic { get; } = PerfOptionFactory.Topic();

    public Option<long> NumRecords { get; } = new("--num-records")
    {
        Description = "Records to send.",
        HelpName = "n",
        Required = true,
        CustomParser = PerfOptionFactory.Checked<long>("--num-records", v => v > 0, "a positive number"),
    };

    public Option<int> RecordSize { get; } = new("--record-size")
    {
        Description = "Value size in bytes.",
        HelpName = "bytes",
        DefaultValueFactory = _ => 100,
        CustomParser = PerfOptionFactory.Checked<int>("--record-size", v => v >= 0, "a size in bytes"),
    };

    public Option<string> Acks { get; } = new("--acks") { Description = "Acknowledgements: all (-1), 1 or 0.", DefaultValueFactory = _ => "1" };

    public Option<double> LingerMs { get; } = new("--linger-ms") { Description = "Client batching delay.", HelpName = "ms", DefaultValueFactory = _ => 0 };

    public Option<string> Compression { get; } = new("--compression") { Description = "Batch compression.", DefaultValueFactory = _ => "none" };

    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "Client batch size in bytes (librdkafka batch.size).", HelpName = "bytes" };

    public Option<double> Throughput { get; } = new("--throughput")
    {
        Description = "Cap in records/sec; -1 for no limit.",
        HelpName = "records/sec",
        DefaultValueFactory = _ => -1,
        CustomParser = PerfOptionFactory.Checked<double>("--throughput", v => v != 0 && double.IsFinite(v), "a positive rate, or -1 for no limit"),
    };

    public Option<string[]> ProducerProperties { get; } = PerfOptionFactory.ClientProperties("--producer-property", "Producer");

    public Option<long> ReportIntervalMs { get; } = PerfOptionFactory.ReportIntervalMs();

    public ProducerPerfOptions Bind(ParseResult result) => new(
        result.GetValue(BootstrapServer)!,
        result.GetValue(Topic)!,
        result.GetValue(NumRecords),
        result.GetValue(RecordSize),
        result.GetValue(Acks)!,
        result.GetValue(LingerMs),
        result.GetValue(Compression)!,
        result.GetValue(BatchSize),
        result.GetValue(Throughput),
        KeyValueArguments.Parse(result.GetValue(ProducerProperties), ProducerProperties.Name),
        TimeSpan.FromMilliseconds(result.GetValue(ReportIntervalMs)));
}

/// <summary><c>perf consume</c>: its options, their binding, and the action. Immutable after construction.</summary>
internal sealed class ConsumePerfCommand
{
    public ConsumePerfCommand()
    {
        Command = new Command("consume", "Read records from the start of every partition of a topic and report throughput.")
        {
            BootstrapServer, Topic, Messages, FetchMaxWaitMs, TimeoutMs, ConsumerProperties, ReportIntervalMs,
        };
        Command.SetAction((result, ct) => ConsumerPerf.RunCommandAsync(Bind(result), result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct));
    }

    public Command Command { get; }

    public Option<string> BootstrapServer { get; } = PerfOptionFactory.BootstrapServer();

    public Option<string> Topic { get; } = PerfOptionFactory.Topic();

    public Option<long> Messages { get; } = new("--messages")
    {
        Description = "Records to consume.",
        HelpName = "n",
        Required = true,
        CustomParser = PerfOptionFactory.Checked<long>("--messages", v => v > 0, "a positive number"),
    };

    public Option<int> FetchMaxWaitMs { get; } = new("--fetch-max-wait-ms")
    {
        Description = "Longest time the broker may hold a fetch for more data.",
        HelpName = "ms",
        DefaultValueFactory = _ => 500,
    };

    public Option<long> TimeoutMs { get; } = new("--timeout-ms")
    {
        Description = "Give up when no record arrives for this long.",
        HelpName = "ms",
        DefaultValueFactory = _ => 10_000,
    };

    public Option<string[]> ConsumerProperties { get; } = PerfOptionFactory.ClientProperties("--consumer-property", "Consumer");

    public Option<long> ReportIntervalMs { get; } = PerfOptionFactory.ReportIntervalMs();

    public ConsumerPerfOptions Bind(ParseResult result) => new(
        result.GetValue(BootstrapServer)!,
        result.GetValue(Topic)!,
        result.GetValue(Messages),
        result.GetValue(FetchMaxWaitMs),
        TimeSpan.FromMilliseconds(result.GetValue(TimeoutMs)),
        KeyValueArguments.Parse(result.GetValue(ConsumerProperties), ConsumerProperties.Name),
        TimeSpan.FromMilliseconds(result.GetValue(ReportIntervalMs)));
}

/// <summary><c>perf fetch</c>: broker-side read throughput with our own protocol client. Immutable after construction.</summary>
internal sealed class FetchPerfCommand
{
    public FetchPerfCommand()
    {
        Command = new Command("fetch", "Fetch one partition from offset 0 to its high watermark with raw Fetch requests (no client record parsing) and report what the broker serves.")
        {
            BootstrapServer, Topic, Partition, MaxBytes,
        };
        Command.SetAction((result, ct) => FetchPerf.RunCommandAsync(
            result.GetValue(BootstrapServer)!,
            result.GetValue(Topic)!,
            result.GetValue(Partition),
            result.GetValue(MaxBytes),
            result.InvocationConfiguration.Output,
            result.InvocationConfiguration.Error,
            ct));
    }

    public Command Command { get; }

    public Option<string> BootstrapServer { get; } = PerfOptionFactory.BootstrapServer();

    public Option<string> Topic { get; } = PerfOptionFactory.Topic();

    public Option<int> Partition { get; } = new("--partition") { Description = "Partition to read.", DefaultValueFactory = _ => 0 };

    public Option<int> MaxBytes { get; } = new("--max-bytes")
    {
        Description = "max_bytes and partition_max_bytes of each fetch (librdkafka's default is 1 MiB).",
        HelpName = "bytes",
        DefaultValueFactory = _ => 1 << 20,
        CustomParser = PerfOptionFactory.Checked<int>("--max-bytes", v => v > 0, "a positive size in bytes"),
    };
}
