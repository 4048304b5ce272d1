using Confluent.Kafka;

namespace EndToEnd.Tests.Broker;

/// <summary>Confluent.Kafka (librdkafka) produce and consume against a broker container's published listener. Stateless; thread-safe.</summary>
internal static class KafkaClients
{
    private static readonly TimeSpan ConsumeTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Produces <paramref name="records"/> in order with acks=all and waits for every acknowledgement.</summary>
    public static async Task ProduceAsync(string bootstrap, string topic, IReadOnlyList<(string Key, string Value)> records)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            MessageTimeoutMs = 60_000,
        }).Build();
        foreach (var (key, value) in records)
        {
            var result = await producer.ProduceAsync(topic, new Message<string, string> { Key = key, Value = value });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
        }
    }

    /// <summary>Reads <paramref name="count"/> records of partition 0 from the start; fails if they do not arrive in time.</summary>
    public static List<(string Key, string Value)> ConsumeFromStart(string bootstrap, string topic, int count)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "e2e-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var result = new List<(string, string)>();
        var deadline = DateTime.UtcNow + ConsumeTimeout;
        while (result.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is { Message: { } message })
            {
                result.Add((message.Key, message.Value));
            }
        }

        Assert.True(result.Count == count, $"consumed {result.Count} of {count} records of {topic} within {ConsumeTimeout.TotalSeconds} s");
        return result;
    }

    /// <summary>The partition count of <paramref name="topic"/> in the broker's Metadata response.</summary>
    public static int PartitionCount(string bootstrap, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(30));
        var described = Assert.Single(metadata.Topics);
        Assert.True(described.Error.Code == ErrorCode.NoError, $"metadata of {topic}: {described.Error}");
        return described.Partitions.Count;
    }

    /// <summary>The brokers (id, host, port) that the bootstrap broker's Metadata response advertises.</summary>
    public static List<(int Id, string Host, int Port)> AdvertisedBrokers(string bootstrap)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        return [.. metadata.Brokers.Select(b => (b.BrokerId, b.Host, b.Port))];
    }
}
