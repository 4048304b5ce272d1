using System.Globalization;
using Confluent.Kafka;

namespace Broker.Cli.Perf;

/// <summary>Settings of <c>perf produce</c>. Immutable.</summary>
internal sealed record ProducerPerfOptions(
    string BootstrapServers,
    string Topic,
    long NumRecords,
    int RecordSize,
    string Acks,
    double LingerMs,
    string Compression,
    int? BatchSize,
    double Throughput,
    IReadOnlyDictionary<string, string> ProducerProperties,
    TimeSpan ReportInterval)
{
    public static readonly string[] AcksValues = ["all", "-1", "0", "1"];
    public static readonly string[] CompressionValues = ["none", "gzip", "snappy", "lz4", "zstd"];

    /// <summary>The client configuration: the explicit options first, then <c>--producer-property</c> entries, which win.</summary>
    public ProducerConfig ToProducerConfig()
    {
        var config = new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            Acks = Acks switch
            {
                "all" or "-1" => Confluent.Kafka.Acks.All,
                "0" => Confluent.Kafka.Acks.None,
                _ => Confluent.Kafka.Acks.Leader,
            },
            LingerMs = LingerMs,
            CompressionType = Compression switch
            {
                "gzip" => CompressionType.Gzip,
                "snappy" => CompressionType.Snappy,
                "lz4" => CompressionType.Lz4,
                "zstd" => CompressionType.Zstd,
                _ => CompressionType.None,
            },

            // Delivery reports only need the error: skip marshalling keys, values, timestamps and headers back.
            DeliveryReportFields = "none",
        };
        if (BatchSize is { } batchSize)
        {
            config.BatchSize = batchSize;
        }

        foreach (var (key, value) in ProducerProperties)
        {
            config.Set(key, value);
        }

        return config;
    }
}

/// <summary>Settings of <c>perf consume</c>. Immutable.</summary>
internal sealed record ConsumerPerfOptions(
    string BootstrapServers,
    string Topic,
    long Messages,
    int FetchMaxWaitMs,
    TimeSpan Timeout,
    IReadOnlyDictionary<string, string> ConsumerProperties,
    TimeSpan ReportInterval)
{
    /// <summary>Group id the client requires; offsets are assigned explicitly and never committed.</summary>
    public const string DefaultGroupId = "kafka-broker-perf-consumer";

    /// <summary>The client configuration: the explicit options first, then <c>--consumer-property</c> entries, which win.</summary>
    public ConsumerConfig ToConsumerConfig()
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = DefaultGroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = FetchMaxWaitMs,
            EnablePartitionEof = false,

            // Only sizes are needed: skip marshalling headers, timestamps and topic names per record.
            ConsumeResultFields = "none",
        };
        foreach (var (key, value) in ConsumerProperties)
        {
            config.Set(key, value);
        }

        return config;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Topic}@{BootstrapServers} x{Messages}");
}
