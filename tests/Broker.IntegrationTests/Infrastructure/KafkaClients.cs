using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// Confluent.Kafka (librdkafka) clients configured for tests: short timeouts, client logs and errors routed
/// to the test output. Consumers from ConsumerConfig are assign-only; GroupConsumerConfig ones subscribe through a group and commit. Thread-safe.
/// </summary>
internal static class KafkaClients
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    public static IAdminClient Admin(string bootstrap, ITestOutputHelper output) =>
        new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = bootstrap,
            SocketTimeoutMs = 10_000,
        })
        .SetLogHandler((_, m) => Log(output, "admin", m))
        .SetErrorHandler((_, e) => TestOutput.TryWriteLine(output, $"admin error: {e}"))
        .Build();

    public static ProducerConfig ProducerConfig(string bootstrap, Acks acks = Acks.All, CompressionType compression = CompressionType.None) => new()
    {
        BootstrapServers = bootstrap,
        Acks = acks,
        CompressionType = compression,
        // Idempotence is what modern clients do by default (Java 3.0+); librdkafka requires acks=all for it.
        EnableIdempotence = acks == Acks.All,
        LingerMs = 5,
        MessageTimeoutMs = 30_000,
        SocketTimeoutMs = 10_000,
    };

    public static IProducer<string, string> Producer(ProducerConfig config, ITestOutputHelper output) =>
        new ProducerBuilder<string, string>(config)
            .SetLogHandler((_, m) => Log(output, "producer", m))
            .SetErrorHandler((_, e) => TestOutput.TryWriteLine(output, $"producer error: {e}"))
            .Build();

    /// <summary>
    /// Confluent.Kafka refuses to build a consumer without group.id ("'group.id' configuration parameter is
    /// required"), so each consumer gets a unique one; it only uses Assign, so no group API is ever needed.
    /// </summary>
    public static ConsumerConfig ConsumerConfig(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = $"it-assign-only-{Guid.NewGuid():N}",
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        AutoOffsetReset = AutoOffsetReset.Error,
        FetchWaitMaxMs = 100,
        SocketTimeoutMs = 10_000,
    };

    /// <summary>
    /// A consumer that subscribes through a consumer group: short session and heartbeat intervals so rebalances take
    /// about a second, auto-commit of consumed records every 200 ms, earliest reset for new groups.
    /// </summary>
    public static ConsumerConfig GroupConsumerConfig(string bootstrap, string groupId, string? groupInstanceId = null,
        PartitionAssignmentStrategy strategy = PartitionAssignmentStrategy.Range) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = groupId,
        GroupInstanceId = groupInstanceId,
        PartitionAssignmentStrategy = strategy,
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 300,
        MaxPollIntervalMs = 10_000,
        EnableAutoCommit = true,
        AutoCommitIntervalMs = 200,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        FetchWaitMaxMs = 100,
        SocketTimeoutMs = 10_000,
        TopicMetadataRefreshIntervalMs = 1000,
    };

    public static IConsumer<string, string> Consumer(ConsumerConfig config, ITestOutputHelper output, List<Error>? errors = null) =>
        new ConsumerBuilder<string, string>(config)
            .SetLogHandler((_, m) => Log(output, "consumer", m))
            .SetErrorHandler((_, e) =>
            {
                TestOutput.TryWriteLine(output, $"consumer error: {e}");
                if (errors is not null)
                {
                    lock (errors)
                    {
                        errors.Add(e);
                    }
                }
            })
            .Build();

    public static async Task CreateTopicAsync(string bootstrap, ITestOutputHelper output, string topic, int partitions = 1, Dictionary<string, string>? configs = null)
    {
        using var admin = Admin(bootstrap, output);
        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1, Configs = configs }],
            new CreateTopicsOptions { RequestTimeout = RequestTimeout, OperationTimeout = RequestTimeout })
            .WaitAsync(RequestTimeout + TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// Reads every partition of <paramref name="partitions"/> from the beginning until <paramref name="expected"/>
    /// records arrived or <paramref name="timeout"/> passed; returns what was read, in arrival order.
    /// </summary>
    public static List<ConsumeResult<string, string>> ConsumeFromBeginning(
        string bootstrap,
        ITestOutputHelper output,
        IEnumerable<TopicPartition> partitions,
        int expected,
        TimeSpan timeout)
    {
        var errors = new List<Error>();
        using var consumer = Consumer(ConsumerConfig(bootstrap), output, errors);
        consumer.Assign(partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        var results = new List<ConsumeResult<string, string>>(expected);
        var deadline = DateTime.UtcNow + timeout;
        while (results.Count < expected && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is not null && !result.IsPartitionEOF)
            {
                results.Add(result);
            }
        }

        consumer.Close();
        return results;
    }

    public static List<ConsumeResult<string, string>> ConsumeFromBeginning(string bootstrap, ITestOutputHelper output, string topic, int expected, TimeSpan timeout) =>
        ConsumeFromBeginning(bootstrap, output, [new TopicPartition(topic, 0)], expected, timeout);

    public static string UniqueTopic(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];

    private static void Log(ITestOutputHelper output, string client, LogMessage message) =>
        TestOutput.TryWriteLine(output, $"{client} {message.Level} {message.Facility}: {message.Message}");
}
