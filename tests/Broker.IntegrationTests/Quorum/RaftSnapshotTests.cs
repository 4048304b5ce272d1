using System.Globalization;
using Broker.Cluster.Raft;
using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// Metadata snapshots on a three-node KRaft cluster over real sockets: with small snapshot thresholds and segments the
/// running nodes snapshot and drop their old metadata segments while one node is stopped; restarted, it is below
/// the leader's log start and catches up through FetchSnapshot, ending with the same image.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class RaftSnapshotTests
{
    private static readonly Dictionary<string, string> SmallSnapshots = new()
    {
        ["metadata.log.max.record.bytes.between.snapshots"] = "4096",
        ["metadata.log.segment.bytes"] = "8192",
    };

    private readonly ITestOutputHelper _output;

    public RaftSnapshotTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task FetchSnapshot_NodeStoppedWhileOthersSnapshotAndTruncate_RestartedNodeCatchesUpWithTheSameImage()
    {
        await using var cluster = await RaftCluster.StartAsync(_output, SmallSnapshots);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Count == 3),
            "every node's image lists 3 brokers");
        var stopped = cluster.RunningNodes.First(n => n != leader);
        await cluster.StopNodeAsync(stopped);

        // Nothing commits without the leader, so its log end bounds what the stopped node holds.
        var quorum = (await cluster.DescribeQuorumAsync(leader)).Topics[0].Partitions[0];
        var stoppedEnd = quorum.CurrentVoters.First(v => v.ReplicaId == leader).LogEndOffset;

        using (var admin = KafkaClients.Admin(cluster.BootstrapServers, _output))
        {
            for (var batch = 0; batch < 12; batch++)
            {
                var topics = Enumerable.Range(0, 5).Select(i => new TopicSpecification
                {
                    Name = $"snap-{batch:D2}-{i}",
                    NumPartitions = 2,
                    ReplicationFactor = 1,
                    Configs = new Dictionary<string, string> { ["retention.ms"] = "3600000" },
                });
                await admin.CreateTopicsAsync(topics,
                    new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                    .WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        // The running nodes wrote snapshots, and their metadata logs now start past everything the stopped node has.
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n =>
                SnapshotFiles.List(cluster.MetadataDirectory(n)) is [.., var latest] && latest.Offset > stoppedEnd
                && FirstSegmentBase(cluster.MetadataDirectory(n)) > stoppedEnd),
            "the running nodes snapshot and delete the segments the stopped node would need");
        var leaderSnapshot = SnapshotFiles.List(cluster.MetadataDirectory(leader))[^1];
        _output.WriteLine($"stopped node {stopped} ends at {stoppedEnd}; leader snapshot {leaderSnapshot}, first segment {FirstSegmentBase(cluster.MetadataDirectory(leader))}");

        await cluster.StartNodeAsync(stopped);
        await InProcessCluster.WaitUntilAsync(
            () => Describe(cluster.Node(stopped).Metadata) == Describe(cluster.Node(cluster.RunningNodes.First(n => n != stopped)).Metadata)
                && cluster.Node(stopped).Metadata.TopicsByName.Count == 60,
            "the restarted node has the same image as the others");

        // It got there by installing a snapshot: its log restarted at a snapshot's end, past everything it had before.
        var installed = SnapshotFiles.List(cluster.MetadataDirectory(stopped));
        Assert.NotEmpty(installed);
        Assert.True(installed[^1].Offset >= leaderSnapshot.Offset, $"installed {installed[^1]}, leader had {leaderSnapshot}");
        Assert.True(FirstSegmentBase(cluster.MetadataDirectory(stopped)) > stoppedEnd);

        // And it goes on replicating after the snapshot.
        using (var admin = KafkaClients.Admin(cluster.BootstrapServers, _output))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "after-snapshot", NumPartitions = 1, ReplicationFactor = 1 }],
                new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                .WaitAsync(TimeSpan.FromSeconds(30));
        }

        await InProcessCluster.WaitUntilAsync(() => cluster.Node(stopped).Metadata.TopicsByName.ContainsKey("after-snapshot"),
            "the restarted node replicates records after the snapshot");
    }

    [Fact]
    public async Task BootstrapServers_BrokerOnlyNodeWithoutVoters_FindsTheLeaderRegistersAndServesMetadata()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Values.Count(b => !b.Fenced) == 3),
            "every node's image lists 3 unfenced brokers");
        using (var admin = KafkaClients.Admin(cluster.BootstrapServers, _output))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "before-broker", NumPartitions = 1, ReplicationFactor = 1 }],
                new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                .WaitAsync(TimeSpan.FromSeconds(30));
        }

        // Only controller.quorum.bootstrap.servers: the node asks one of them, learns the leader and its endpoint from the
        // fetch response, replicates the metadata log as an observer and registers with the controller.
        var broker = await cluster.StartBrokerOnlyAsync(4, new Dictionary<string, string>
        {
            ["controller.quorum.bootstrap.servers"] = cluster.ControllerBootstrapServers,
        });

        await InProcessCluster.WaitUntilAsync(() => broker.Metadata.TopicsByName.ContainsKey("before-broker")
                && broker.Metadata.Brokers.TryGetValue(4, out var self) && !self.Fenced
                && cluster.Node(leader).Metadata.Brokers.ContainsKey(4),
            "the broker-only node replicates the metadata and is registered, unfenced");
        Assert.Equal(leader, broker.QuorumState!.Value.LeaderId);
        Assert.Equal(RaftRole.Follower, broker.QuorumState.Value.Role);
        var observers = (await cluster.DescribeQuorumAsync(leader)).Topics[0].Partitions[0].Observers;
        Assert.Contains(observers, o => o.ReplicaId == 4);
    }

    /// <summary>Topics with partitions (replicas, ISR, leader) and configs, and brokers, as text to compare images.</summary>
    private static string Describe(Broker.Cluster.Metadata.MetadataImage image) => string.Join('\n',
        image.TopicsByName.Values.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t =>
            $"{t.Name} {t.TopicId} [{string.Join(';', t.Partitions.Select(p => $"{p.Partition}:{string.Join(',', p.Replicas)}/{p.Leader}/{p.LeaderEpoch}"))}] "
            + string.Join(',', t.Configs.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")))
            .Concat(image.Brokers.Values.Select(b => $"broker {b.NodeId} {b.Epoch}")));

    private static long FirstSegmentBase(string directory) =>
        Directory.GetFiles(directory, "*.log").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f), CultureInfo.InvariantCulture)).Min();
}
