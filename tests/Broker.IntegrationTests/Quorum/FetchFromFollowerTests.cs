using System.Globalization;
using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Broker.Server;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// Fetch from follower (KIP-392) end to end: three KRaft nodes in racks rack-1..rack-3 with the rack-aware replica
/// selector, and a librdkafka consumer with client.rack naming a follower's rack. What the follower served is read from
/// its Prometheus endpoint.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FetchFromFollowerTests
{
    private const string Topic = "ffr";
    private const int Records = 500;
    private readonly ITestOutputHelper _output;

    public FetchFromFollowerTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Consume_ClientRackOfAFollower_ReadsEverythingFromThatFollower()
    {
        await using var cluster = await StartRackAwareClusterAsync();
        await ProduceAsync(cluster, 0, Records);

        var leader = cluster.Node(1).Metadata.TopicsByName[Topic].Partitions[0].Leader;
        var follower = cluster.RunningNodes.First(n => n != leader);
        await InProcessCluster.WaitUntilAsync(() => cluster.Node(follower).Replicas.Get(Topic, 0)!.Log.HighWatermark == Records,
            "the follower's high watermark reaches the last record");
        _output.WriteLine($"leader {leader}, consumer in rack-{follower}");

        var config = KafkaClients.ConsumerConfig(cluster.BootstrapServers);
        config.ClientRack = $"rack-{follower}";
        var values = new List<string>(Records);
        using (var consumer = KafkaClients.Consumer(config, _output))
        {
            consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (values.Count < Records && DateTime.UtcNow < deadline)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
                {
                    values.Add(result.Message.Value);
                }
            }

            consumer.Close();
        }

        Assert.Equal(Enumerable.Range(0, Records).Select(i => $"v{i}"), values);

        // Client fetch traffic is metered per broker (replication is not): the records left through the follower.
        var followerBytes = await BytesOutAsync(cluster.Node(follower));
        var leaderBytes = await BytesOutAsync(cluster.Node(leader));
        _output.WriteLine($"bytes out to consumers: follower {followerBytes}, leader {leaderBytes}");
        Assert.True(followerBytes >= Records * 2, $"the follower served {followerBytes} bytes");
        Assert.Equal(0, leaderBytes);
    }

    [Fact]
    public async Task Consume_PreferredFollowerStopped_ConsumerFallsBackToTheLeaderAndReadsTheRest()
    {
        await using var cluster = await StartRackAwareClusterAsync();
        await ProduceAsync(cluster, 0, Records);
        var leader = cluster.Node(1).Metadata.TopicsByName[Topic].Partitions[0].Leader;
        var follower = cluster.RunningNodes.First(n => n != leader);
        await InProcessCluster.WaitUntilAsync(() => cluster.Node(follower).Replicas.Get(Topic, 0)!.Log.HighWatermark == Records,
            "the follower's high watermark reaches the last record");

        var config = KafkaClients.ConsumerConfig(cluster.BootstrapServers);
        config.ClientRack = $"rack-{follower}";
        config.TopicMetadataRefreshIntervalMs = 1000;
        var values = new List<string>(2 * Records);
        using var consumer = KafkaClients.Consumer(config, _output);
        consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
        ConsumeUntil(consumer, values, Records, TimeSpan.FromSeconds(60));
        Assert.True(await BytesOutAsync(cluster.Node(follower)) > 0, "the first half came from the follower");

        // The follower goes away: its session expires, the controller fences it and drops it from the ISR, and the
        // consumer must find its way back to the leader for what is produced next.
        await cluster.StopNodeAsync(follower);
        await ProduceAsync(cluster, Records, Records);
        ConsumeUntil(consumer, values, 2 * Records, TimeSpan.FromSeconds(90));
        consumer.Close();

        Assert.Equal(Enumerable.Range(0, 2 * Records).Select(i => $"v{i}"), values);
        Assert.True(await BytesOutAsync(cluster.Node(leader)) > 0, "the second half came from the leader");
    }

    private async Task<RaftCluster> StartRackAwareClusterAsync()
    {
        var cluster = await RaftCluster.StartAsync(_output, nodeSettings: node =>
        [
            new("broker.rack", $"rack-{node}"),
            new("replica.selector.class", "org.apache.kafka.common.replica.RackAwareReplicaSelector"),
        ]);
        await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Values.Count(b => !b.Fenced) == 3),
            "every node's image lists 3 unfenced brokers");
        using (var admin = KafkaClients.Admin(cluster.BootstrapServers, _output))
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = 3, Configs = new() { ["min.insync.replicas"] = "2" } }],
                new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                .WaitAsync(TimeSpan.FromSeconds(30));
        }

        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Replicas.Get(Topic, 0) is not null),
            "every node hosts a replica of the topic");
        return cluster;
    }

    private async Task ProduceAsync(RaftCluster cluster, int from, int count)
    {
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(cluster.BootstrapServers), _output);
        for (var i = from; i < from + count; i++)
        {
            producer.Produce(Topic, new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
        }

        await Task.Run(() => Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(90))));
    }

    private static void ConsumeUntil(IConsumer<string, string> consumer, List<string> values, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (values.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                values.Add(result.Message.Value);
            }
        }
    }

    /// <summary>kafka_server_brokertopicmetrics_bytesout_total for the topic, 0 when the broker never served it.</summary>
    private static async Task<double> BytesOutAsync(RunningBroker broker)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await client.GetStringAsync(new Uri($"http://{broker.MetricsEndPoint}/metrics"));
        var prefix = $"kafka_server_brokertopicmetrics_bytesout_total{{topic=\"{Topic}\"}} ";
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }
}
