using System.Globalization;
using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>
/// Kafka's replication throttle on real broker processes: a follower far behind catches up no faster than its
/// follower.replication.throttled.rate, stays out of the ISR meanwhile, and rejoins once the throttle is lifted. Not
/// thread-safe: one instance per test.
/// </summary>
public sealed class ThrottleTests
{
    private const string Topic = "throttled";
    private const int RateBytesPerSecond = 100_000;
    private const int FetchMaxBytes = 65_536;
    private readonly ITestOutputHelper _output;

    public ThrottleTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task FollowerThrottle_RestartedFollowerFarBehind_CatchesUpAtTheThrottledRateAndRejoinsOnceLifted()
    {
        await using var cluster = await ProcessCluster.StartAsync(_output, ("replica.fetch.max.bytes", FetchMaxBytes.ToString(CultureInfo.InvariantCulture)));
        await cluster.CreateTopicAsync(Topic, 1);
        var leader = cluster.Partition(Topic, 0).Leader;
        var follower = cluster.Nodes.First(n => n != leader);
        await AlterAsync(cluster, ResourceType.Broker, follower.ToString(CultureInfo.InvariantCulture), "follower.replication.throttled.rate",
            RateBytesPerSecond.ToString(CultureInfo.InvariantCulture));
        await AlterAsync(cluster, ResourceType.Topic, Topic, "follower.replication.throttled.replicas", $"0:{follower}");

        // The follower stops and is dropped from the ISR; 1 MB is written without it (acks=all from the other two).
        await cluster.KillAsync(follower);
        await cluster.WaitUntilAsync(() => !cluster.Partition(Topic, 0).InSyncReplicas.Contains(follower), $"killed node {follower} leaves the ISR");
        const int records = 1000;
        // Batches of at most 16 kB: a fetch returns at least one whole batch, so the throttle can only be as fine as they are.
        var config = KafkaClients.ProducerConfig(cluster.BootstrapServers);
        config.BatchSize = 16_384;
        using (var producer = KafkaClients.Producer(config, _output))
        {
            var value = new string('x', 1000);
            for (var i = 0; i < records; i++)
            {
                producer.Produce(Topic, new Message<string, string> { Value = value });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        var leaderSize = await PartitionSizeAsync(cluster, leader);
        Assert.True(leaderSize > records * 1000L, $"the leader holds {leaderSize} bytes");

        // Restarted, it is out of sync, so its fetches of the throttled partition wait while its rate is over the bound.
        cluster.Start(follower);
        await cluster.WaitForBrokersAsync([follower]);
        var started = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(4));
        var size = await PartitionSizeAsync(cluster, follower);
        var elapsed = (DateTime.UtcNow - started).TotalSeconds;
        var bound = (long)(((elapsed + 1) * RateBytesPerSecond) + (2 * FetchMaxBytes));
        _output.WriteLine($"after {elapsed:F1} s the throttled follower {follower} holds {size} of {leaderSize} bytes (bound {bound})");
        Assert.True(size > 0, $"the throttled follower {follower} fetched nothing in {elapsed:F1} s");
        Assert.True(size <= bound, $"the throttled follower {follower} fetched {size} bytes in {elapsed:F1} s, over {RateBytesPerSecond} B/s");
        Assert.DoesNotContain(follower, cluster.Partition(Topic, 0).InSyncReplicas);

        // Throttle lifted: it catches up at once and rejoins the ISR with every byte.
        await AlterAsync(cluster, ResourceType.Broker, follower.ToString(CultureInfo.InvariantCulture), "follower.replication.throttled.rate", null);
        await cluster.WaitForInSyncAsync(Topic, 0, follower);
        Assert.Equal(await PartitionSizeAsync(cluster, leader), await PartitionSizeAsync(cluster, follower));
    }

    /// <summary>IncrementalAlterConfigs of one key: SET <paramref name="value"/>, or DELETE when it is null.</summary>
    private static Task AlterAsync(ProcessCluster cluster, ResourceType type, string name, string key, string? value) =>
        cluster.Admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [new ConfigResource { Type = type, Name = name }] =
                [new ConfigEntry { Name = key, Value = value ?? "", IncrementalOperation = value is null ? AlterConfigOpType.Delete : AlterConfigOpType.Set }],
        }, new IncrementalAlterConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(30) });

    /// <summary>The size of the partition's log on <paramref name="node"/>, as DescribeLogDirs reports it there.</summary>
    private static async Task<long> PartitionSizeAsync(ProcessCluster cluster, int node)
    {
        var response = await cluster.SendAsync<DescribeLogDirsResponse>(node, new DescribeLogDirsRequest
        {
            Topics = [new DescribeLogDirsRequest.DescribableLogDirTopic { Topic = Topic, Partitions = [0] }],
        }, 4);
        return response.Results.SelectMany(r => r.Topics).Where(t => t.Name == Topic).SelectMany(t => t.Partitions).Sum(p => p.PartitionSize);
    }
}
