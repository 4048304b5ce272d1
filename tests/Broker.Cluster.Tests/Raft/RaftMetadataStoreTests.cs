using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cluster.Tests.Raft;

/// <summary>The metadata store over the Raft replica: single voter (today's brokers) and three voters over a test pump.</summary>
public sealed class RaftMetadataStoreTests : IDisposable
{
    private const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raft-store-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(1_700_000_000_000);
    private readonly List<LogManager> _managers = [];

    public void Dispose()
    {
        foreach (var manager in _managers)
        {
            manager.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task CommitAsync_SingleVoter_CompletesAtOnceAndSurvivesAReopen()
    {
        var store = Open(1, TestQuorums.Of(1), "node-1");
        var images = new List<MetadataImage>();
        store.ImageChanged += images.Add;

        var commit = store.CommitAsync([new FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 25 }], CancellationToken.None);

        Assert.True(commit.IsCompletedSuccessfully);
        Assert.Equal(25, (await commit).FinalizedFeatures["metadata.version"]);
        Assert.Single(images);
        Assert.Equal((RaftRole.Leader, 1, 1), store.State);
        CloseAll();

        var reopened = Open(1, TestQuorums.Of(1), "node-1");

        Assert.Equal(25, reopened.Image.FinalizedFeatures["metadata.version"]);
        Assert.Equal((RaftRole.Leader, 2, 1), reopened.State);
        Assert.Equal(store.Image.Offset, reopened.Image.Offset);
    }

    [Fact]
    public async Task Open_LogWrittenBeforeRaft_ReplaysItAndAppendsAfterIt()
    {
        // The pre-Raft single-node metadata log: one epoch-0 batch per commit, no control batches, no quorum-state.
        var logs = Logs(1, "node-1");
        var log = logs.GetOrCreateLog(MetadataTopic.TopicName, 0, MetadataTopic.TopicId, LogConfig.Default);
        AppendPreRaftBatch(log, new FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 25 });
        AppendPreRaftBatch(log, new FeatureLevelRecord { Name = "group.version", FeatureLevel = 1 });
        CloseAll();

        var store = Open(1, TestQuorums.Of(1), "node-1");

        Assert.Equal(25, store.Image.FinalizedFeatures["metadata.version"]);
        Assert.Equal(1, store.Image.FinalizedFeatures["group.version"]);
        var next = await store.CommitAsync([new FeatureLevelRecord { Name = "transaction.version", FeatureLevel = 2 }], CancellationToken.None);

        // Offsets 0 and 1 were written before Raft, 2 is the LEADER_CHANGE of epoch 1.
        Assert.Equal(3, next.Offset);
        Assert.Equal(2, next.FinalizedFeatures["transaction.version"]);
    }

    private void AppendPreRaftBatch(PartitionLog log, IApiMessage record)
    {
        using var value = new KafkaWriter(64);
        MetadataRecordSerde.Write(value, record);
        using var batch = new RecordBatchBuilder();
        batch.Append(_time.NowMs, null, value.WrittenSpan.ToArray());
        log.Append(batch.ToArray(), 0, _time.NowMs, logAppendTime: false);
        log.Flush();
        log.HighWatermark = log.LogEndOffset;
    }

    [Fact]
    public async Task CommitAsync_ThreeVoters_CompletesOnceReplicatedAndEveryNodeBuildsTheImage()
    {
        var queue = new Queue<RaftMessage>();
        var stores = new Dictionary<int, RaftMetadataStore>();
        foreach (var id in new[] { 1, 2, 3 })
        {
            stores[id] = Open(id, TestQuorums.Of(1, 2, 3), $"node-{id}", queue.Enqueue);
        }

        var leader = Run(stores, queue, 30_000, () => stores.Values.FirstOrDefault(s => s.State.Role == RaftRole.Leader));
        var follower = stores.Values.First(s => s != leader);
        Assert.Throws<NotLeaderException>(() => follower.CommitAsync([new FeatureLevelRecord { Name = "x", FeatureLevel = 1 }], CancellationToken.None));

        var commit = leader.CommitAsync([new FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 25 }], CancellationToken.None);
        Assert.False(commit.IsCompleted);
        Run(stores, queue, 5_000, () => commit.IsCompleted ? leader : null);
        var image = await commit;
        Run(stores, queue, 1_000, () => null);

        Assert.Equal(25, image.FinalizedFeatures["metadata.version"]);
        Assert.All(stores.Values, s => Assert.Equal(image.Offset, s.Image.Offset));
        Assert.All(stores.Values, s => Assert.Equal(25, s.Image.FinalizedFeatures["metadata.version"]));
        var quorum = leader.DescribeQuorum().Topics[0].Partitions[0];
        Assert.Equal(3, quorum.CurrentVoters.Count);
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
                stores[message.Destination].Handle(message);
            }

            if (until() is { } found)
            {
                return found;
            }
        }

        return null!;
    }

    private RaftMetadataStore Open(int nodeId, QuorumConfig config, string dir, Action<RaftMessage>? send = null) =>
        RaftMetadataStore.Open(Logs(nodeId, dir), nodeId, config, _time, send, NullLogger<RaftMetadataStore>.Instance, new Random(nodeId));

    private LogManager Logs(int nodeId, string dir)
    {
        var manager = LogManager.Open(new LogManagerOptions([Path.Combine(_root, dir)], nodeId, ClusterId, LogConfig.Default), _time);
        _managers.Add(manager);
        return manager;
    }

    private void CloseAll()
    {
        foreach (var manager in _managers)
        {
            manager.Dispose();
        }

        _managers.Clear();
    }
}
