using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cluster.Tests.Raft;

/// <summary>
/// Snapshots under the metadata store over real storage: generation past the byte threshold, the log start moving up
/// with old segments deleted, start-up from snapshot plus log, and a stopped voter catching up through FetchSnapshot.
/// </summary>
public sealed class RaftMetadataSnapshotTests : IDisposable
{
    private const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private static readonly MetadataSnapshotPolicy Small = new(4 * 1024, 0) { LogSegmentBytes = 2 * 1024 };
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raft-snap-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(1_700_000_000_000);
    private readonly Dictionary<string, LogManager> _managers = [];
    private int _topics;

    public void Dispose()
    {
        foreach (var manager in _managers.Values)
        {
            manager.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task CommitAsync_PastTheByteThreshold_WritesSnapshotsAndDeletesSegmentsBelowThem()
    {
        var store = Open(1, KeepLatest(TestQuorums.Of(1)), "node-1", null, Small);

        for (var i = 0; i < 60; i++)
        {
            await store.CommitAsync(TopicRecords(), CancellationToken.None);
        }

        var (snapshot, logStart) = store.Snapshots;
        Assert.NotNull(snapshot);
        var dir = MetadataDir("node-1");

        // Retention ran at the last append, before that append's snapshot: the one before it may remain, and the log starts there.
        var held = SnapshotFiles.List(dir);
        Assert.InRange(held.Count, 1, 2);
        Assert.Equal(snapshot.Value, held[^1]);
        Assert.Equal(held[0].Offset, logStart);
        var fromFile = MetadataSnapshot.Read(SnapshotFiles.Read(dir, snapshot.Value), ClusterId, 1, snapshot.Value.Offset, "test");
        Assert.True(fromFile.TopicsById.Count > 30);

        // Segments wholly below the snapshot left the log (renamed for deletion, then removed).
        var firstSegment = Directory.GetFiles(dir, "*.log").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture)).Min();
        Assert.True(firstSegment > 0, $"first segment still at {firstSegment}");
        Assert.True(firstSegment <= snapshot.Value.Offset);
    }

    [Fact]
    public async Task Open_DynamicQuorumPastSnapshots_VotersComeFromTheSnapshotWhenTheLogNoLongerHoldsThem()
    {
        // A dynamic sole voter: its first epoch writes KRAFT_VERSION and KRAFT_VOTERS into the log.
        var dynamic = KeepLatest(new QuorumConfig([new VoterEndpoint(1, "127.0.0.1", 9093)]) { KRaftVersion = 1 });
        var store = Open(1, dynamic, "node-1", null, Small);
        for (var i = 0; i < 60; i++)
        {
            await store.CommitAsync(TopicRecords(), CancellationToken.None);
        }

        var (snapshot, logStart) = store.Snapshots;
        Assert.NotNull(snapshot);
        Assert.True(logStart > 3, "the log start passed the epoch-start voters record");
        Assert.NotNull(MetadataSnapshot.ReadVoters(SnapshotFiles.Read(MetadataDir("node-1"), snapshot.Value), "test"));
        Close("node-1");

        // Reopened with no configured voters at all (as a controller formatted with --no-initial-controllers would be):
        // the snapshot alone says node 1 is the voter, so it elects itself again.
        var reopened = Open(1, new QuorumConfig([]) { KRaftVersion = 1 }, "node-1", null, MetadataSnapshotPolicy.Default);

        Assert.Equal([1], reopened.Voters.Voters.Ids);
        Assert.Equal(1, reopened.Voters.KRaftVersion);
        Assert.Equal(RaftRole.Leader, reopened.State.Role);
        var next = await reopened.CommitAsync(TopicRecords(), CancellationToken.None);
        Assert.Equal(61, next.TopicsById.Count);
    }

    [Fact]
    public async Task Open_SnapshotAndLogAfterIt_LoadsTheSnapshotThenReplaysTheRest()
    {
        var store = Open(1, TestQuorums.Of(1), "node-1", null, Small);
        for (var i = 0; i < 40; i++)
        {
            await store.CommitAsync(TopicRecords(), CancellationToken.None);
        }

        await store.CommitAsync([new FeatureLevelRecord { Name = "group.version", FeatureLevel = 1 }], CancellationToken.None);
        var expected = SnapshotTestImages.Describe(store.Image);
        var (snapshot, _) = store.Snapshots;
        Assert.NotNull(snapshot);
        Assert.True(store.Image.Offset >= snapshot.Value.Offset, "the last commit should be after the snapshot");
        Close("node-1");

        var reopened = Open(1, TestQuorums.Of(1), "node-1", null, MetadataSnapshotPolicy.Default);

        Assert.Equal(expected, SnapshotTestImages.Describe(reopened.Image));
        Assert.Equal(snapshot, reopened.Snapshots.LatestSnapshot);
        var next = await reopened.CommitAsync(TopicRecords(), CancellationToken.None);
        Assert.Equal(41, next.TopicsById.Count);
    }

    [Fact]
    public async Task FetchSnapshot_VoterStoppedWhileOthersSnapshot_RestartsAndCatchesUpWithTheSameImage()
    {
        var queue = new Queue<RaftMessage>();
        var config = KeepLatest(TestQuorums.Of(1, 2, 3)) with { FetchMaxBytes = 1024 };
        var stores = new Dictionary<int, RaftMetadataStore>();
        foreach (var id in new[] { 1, 2, 3 })
        {
            stores[id] = Open(id, config, $"node-{id}", queue.Enqueue, Small);
        }

        var leader = Run(stores, queue, 30_000, () => stores.Values.FirstOrDefault(s => s.State.Role == RaftRole.Leader));
        var stoppedId = stores.First(s => s.Value != leader).Key;
        await CommitThrough(stores, queue, leader, TopicRecords());
        stores.Remove(stoppedId);
        Close($"node-{stoppedId}");
        var stoppedEnd = _time.NowMs;

        for (var i = 0; i < 60; i++)
        {
            await CommitThrough(stores, queue, leader, TopicRecords());
        }

        Assert.All(stores.Values, s => Assert.True(s.Snapshots.LogStartOffset > 10, $"log start {s.Snapshots.LogStartOffset}"));
        var restarted = Open(stoppedId, config, $"node-{stoppedId}", queue.Enqueue, Small);
        Assert.True(restarted.Image.TopicsById.Count <= 1);
        stores[stoppedId] = restarted;

        Run(stores, queue, 30_000, () => restarted.Image.TopicsById.Count == leader.Image.TopicsById.Count ? restarted : null);

        Assert.Equal(SnapshotTestImages.Describe(leader.Image), SnapshotTestImages.Describe(restarted.Image));
        Assert.NotNull(restarted.Snapshots.LatestSnapshot);
        Assert.True(restarted.Snapshots.LogStartOffset > 10);
        Assert.True(_time.NowMs > stoppedEnd);

        // It goes on replicating after the snapshot.
        await CommitThrough(stores, queue, leader, TopicRecords());
        Run(stores, queue, 5_000, () => restarted.Image.TopicsById.Count == leader.Image.TopicsById.Count ? restarted : null);
        Assert.Equal(SnapshotTestImages.Describe(leader.Image), SnapshotTestImages.Describe(restarted.Image));
    }

    /// <summary>Retention that keeps only the latest snapshot, applied at every poll and append.</summary>
    private static QuorumConfig KeepLatest(QuorumConfig config) =>
        config with { Retention = new SnapshotRetention(0, -1), RetentionCheckIntervalMs = 0 };

    private async Task CommitThrough(Dictionary<int, RaftMetadataStore> stores, Queue<RaftMessage> queue, RaftMetadataStore leader, List<IApiMessage> records)
    {
        var commit = leader.CommitAsync(records, CancellationToken.None);
        Run(stores, queue, 10_000, () => commit.IsCompleted ? leader : null);
        Assert.True(commit.IsCompleted);
        await commit;
    }

    private List<IApiMessage> TopicRecords()
    {
        var n = ++_topics;
        var id = new Guid(n, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7);
        return
        [
            new TopicRecord { Name = $"topic-{n:D4}", TopicId = id },
            new PartitionRecord { TopicId = id, PartitionId = 0, Replicas = [1, 2, 3], Isr = [1, 2, 3], Leader = 1, LeaderEpoch = 0, PartitionEpoch = 0 },
            new ConfigRecord { ResourceType = 2, ResourceName = $"topic-{n:D4}", Name = "retention.ms", Value = "86400000" },
        ];
    }

    private RaftMetadataStore Run(Dictionary<int, RaftMetadataStore> stores, Queue<RaftMessage> queue, long maxMs, Func<RaftMetadataStore?> until)
    {
        var end = _time.NowMs + maxMs;
        while (_time.NowMs < end)
        {
            _time.NowMs += 10;
            foreach (var store in stores.Values)
            {
                store.Poll();
            }

            while (queue.TryDequeue(out var message))
            {
                // A stopped node neither receives nor answers.
                if (stores.TryGetValue(message.Destination, out var destination) && stores.ContainsKey(message.Source))
                {
                    destination.Handle(message);
                }
            }

            if (until() is { } found)
            {
                return found;
            }
        }

        return null!;
    }

    private RaftMetadataStore Open(int nodeId, QuorumConfig config, string dir, Action<RaftMessage>? send, MetadataSnapshotPolicy policy)
    {
        var manager = LogManager.Open(new LogManagerOptions([Path.Combine(_root, dir)], nodeId, ClusterId, LogConfig.Default), _time);
        _managers[dir] = manager;
        return RaftMetadataStore.Open(manager, nodeId, config, _time, send, NullLogger<RaftMetadataStore>.Instance, new Random(nodeId), policy);
    }

    private string MetadataDir(string dir) => Path.Combine(_root, dir, MetadataTopic.TopicName + "-0");

    private void Close(string dir)
    {
        _managers[dir].Dispose();
        _managers.Remove(dir);
    }
}
