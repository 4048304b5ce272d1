using System.Globalization;
using Broker.Cluster.Raft;
using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// Metadata snapshots on a three-node KRaft cluster over real sockets, with small snapshot thresholds and segments and
/// retention checked every 500 ms. Under the retention limits the nodes keep every snapshot and the whole log, so a node
/// stopped meanwhile catches up from the log; over them (a node restarted with smaller limits, or a cluster that keeps
/// only the latest snapshot) old snapshots and the segments below the next go, and a node below the leader's log start
/// catches up through FetchSnapshot, ending with the same image.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class RaftSnapshotTests
{
    private static readonly Dictionary<string, string> SmallSnapshots = new()
    {
        ["metadata.log.max.record.bytes.between.snapshots"] = "4096",
        ["metadata.log.segment.bytes"] = "8192",
        ["metadata.retention.check.interval.ms"] = "500",
    };

    private readonly ITestOutputHelper _output;

    public RaftSnapshotTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task FetchSnapshot_NodeStoppedWhileOthersSnapshotAndTruncate_RestartedNodeCatchesUpWithTheSameImage()
    {
        // Retention over the limit at once: every node keeps only its latest snapshot.
        var settings = new Dictionary<string, string>(SmallSnapshots) { ["metadata.max.retention.bytes"] = "0" };
        await using var cluster = await RaftCluster.StartAsync(_output, settings);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Count == 3),
            "every node's image lists 3 brokers");
        var stopped = cluster.RunningNodes.First(n => n != leader);
        await cluster.StopNodeAsync(stopped);

        // Nothing commits without the leader, so its log end bounds what the stopped node holds. Asked of whoever leads
        // now: on a loaded machine an election may have moved the leadership meanwhile, and a node that no longer
        // leads answers DescribeQuorum with an error and no voters.
        var stoppedEnd = -1L;
        for (var attempt = 0; stoppedEnd < 0; attempt++)
        {
            Assert.True(attempt < 20, "no node answered DescribeQuorum as the leader");
            (leader, _) = await cluster.WaitForLeaderAsync();
            var quorum = (await cluster.DescribeQuorumAsync(leader)).Topics[0].Partitions[0];
            if (quorum.ErrorCode == 0 && quorum.CurrentVoters.FirstOrDefault(v => v.ReplicaId == leader) is { } self)
            {
                stoppedEnd = self.LogEndOffset;
            }
        }

        await CreateTopicsAsync(cluster, "snap", 12);

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

    [Fact]
    public async Task Retention_UnderTheLimitKeepsOldSnapshotsAndTheLog_OverItRemovesThem_RestartedNodesCatchUp()
    {
        // Per node, read at each start: a restart picks up new limits. Snapshots every 1 KiB of records.
        var limits = Enumerable.Range(1, 3).ToDictionary(n => n,
            _ => new Dictionary<string, string> { ["metadata.log.max.record.bytes.between.snapshots"] = "1024" });
        await using var cluster = await RaftCluster.StartAsync(_output, SmallSnapshots, node => limits[node]);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Count == 3),
            "every node's image lists 3 brokers");
        var lagging = cluster.RunningNodes.First(n => n != leader);
        await cluster.StopNodeAsync(lagging);

        // Under Kafka's default limits (100 MiB, 7 days) every snapshot stays and the log still starts at 0.
        await CreateTopicsAsync(cluster, "kept", 12);
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => SnapshotFiles.List(cluster.MetadataDirectory(n)).Count >= 3),
            "the running nodes write several snapshots (" + string.Join(", ", cluster.RunningNodes.Select(n => SnapshotFiles.List(cluster.MetadataDirectory(n)).Count)) + " so far)");
        await Task.Delay(1_500);
        foreach (var node in cluster.RunningNodes)
        {
            var held = SnapshotFiles.List(cluster.MetadataDirectory(node));
            _output.WriteLine($"node {node}: {held.Count} snapshots kept, first segment {FirstSegmentBase(cluster.MetadataDirectory(node))}");
            Assert.True(held.Count >= 3, $"node {node} kept {held.Count} snapshots");
            Assert.Equal(0, FirstSegmentBase(cluster.MetadataDirectory(node)));
        }

        // The lagging follower is not below the leader's log start: it catches up from the log, which it holds from 0.
        await cluster.StartNodeAsync(lagging);
        await AwaitSameImageAsync(cluster, lagging, 60);
        Assert.Equal(0, FirstSegmentBase(cluster.MetadataDirectory(lagging)));

        // Over the limits: one follower restarts with a byte limit, the other with an age limit; each drops every snapshot
        // but its latest and the segments below it, and still loads, catches up and replicates.
        var (current, _) = await cluster.WaitForLeaderAsync();
        var followers = cluster.RunningNodes.Where(n => n != current).ToArray();
        var overLimits = new[] { ("metadata.max.retention.bytes", "1"), ("metadata.max.retention.ms", "1") };
        for (var i = 0; i < followers.Length; i++)
        {
            var node = followers[i];
            var before = SnapshotFiles.List(cluster.MetadataDirectory(node));
            await cluster.StopNodeAsync(node);
            limits[node][overLimits[i].Item1] = overLimits[i].Item2;
            await cluster.StartNodeAsync(node);
            await InProcessCluster.WaitUntilAsync(() => SnapshotFiles.List(cluster.MetadataDirectory(node)).Count == 1
                    && FirstSegmentBase(cluster.MetadataDirectory(node)) > 0,
                $"node {node} over {overLimits[i].Item1} keeps only its latest snapshot and drops the segments below it");
            var after = SnapshotFiles.List(cluster.MetadataDirectory(node));
            _output.WriteLine($"node {node} with {overLimits[i].Item1}={overLimits[i].Item2}: snapshots {before.Count} -> {after.Count} "
                + $"({after[0]}), first segment {FirstSegmentBase(cluster.MetadataDirectory(node))}");
            Assert.True(after[0].Offset >= before[^1].Offset);
            await AwaitSameImageAsync(cluster, node, 60);
        }

        await CreateTopicsAsync(cluster, "after", 1);
        foreach (var node in followers)
        {
            await AwaitSameImageAsync(cluster, node, 65);
        }
    }

    private async Task CreateTopicsAsync(RaftCluster cluster, string prefix, int batches)
    {
        using var admin = KafkaClients.Admin(cluster.BootstrapServers, _output);
        for (var batch = 0; batch < batches; batch++)
        {
            var topics = Enumerable.Range(0, 5).Select(i => new TopicSpecification
            {
                Name = $"{prefix}-{batch:D2}-{i}",
                NumPartitions = 2,
                ReplicationFactor = 1,
                Configs = new Dictionary<string, string> { ["retention.ms"] = "3600000" },
            });
            await admin.CreateTopicsAsync(topics,
                new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                .WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static Task AwaitSameImageAsync(RaftCluster cluster, int node, int topics) =>
        InProcessCluster.WaitUntilAsync(
            () => cluster.Node(node).Metadata.TopicsByName.Count == topics
                && Describe(cluster.Node(node).Metadata) == Describe(cluster.Node(cluster.RunningNodes.First(n => n != node)).Metadata),
            $"node {node} has the same image as the others ({topics} topics)");

    /// <summary>Topics with partitions (replicas, ISR, leader) and configs, and brokers, as text to compare images.</summary>
    private static string Describe(Broker.Cluster.Metadata.MetadataImage image) => string.Join('\n',
        image.TopicsByName.Values.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t =>
            $"{t.Name} {t.TopicId} [{string.Join(';', t.Partitions.Select(p => $"{p.Partition}:{string.Join(',', p.Replicas)}/{p.Leader}/{p.LeaderEpoch}"))}] "
            + string.Join(',', t.Configs.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")))
            .Concat(image.Brokers.Values.Select(b => $"broker {b.NodeId} {b.Epoch}")));

    private static long FirstSegmentBase(string directory) =>
        Directory.GetFiles(directory, "*.log").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f), CultureInfo.InvariantCulture)).Min();
}
