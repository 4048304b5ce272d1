using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cluster.Tests.Replication;

/// <summary>How metadata images hand partitions to the follower side (Kafka's applyDelta: makeFollower / makeLeader).</summary>
public sealed class FollowerRoleTests : IDisposable
{
    private const int Me = 2;
    private readonly ManualClock _clock = new();
    private readonly TempLogs _logs;
    private readonly ReplicaManager _replicas;
    private readonly RecordingFetchers _fetchers = new();
    private readonly ImageCommits _images;

    public FollowerRoleTests()
    {
        _logs = new TempLogs(_clock);
        _replicas = new ReplicaManager(Me, _logs.Manager, (_, _) => LogConfig.Default with { FileDeleteDelayMs = 0 },
            new ReplicaManagerOptions(30_000, _clock, null), NullLogger<ReplicaManager>.Instance);
        _replicas.AttachFetchers(_fetchers);
        _images = new ImageCommits(_replicas);
    }

    public void Dispose() => _logs.Dispose();

    private void Commit(params IApiMessage[] records) => _images.Commit(records);

    private void CreateTopic(int leader, int leaderEpoch = 0) => Commit(TestTopic.Topic(), TestTopic.Partition(leader, leaderEpoch));

    private void ChangeLeader(int leader) =>
        Commit(new PartitionChangeRecord { PartitionId = 0, TopicId = TempLogs.TopicId, Leader = leader });

    [Fact]
    public void Apply_NewPartitionLedElsewhere_FollowsItsLeaderAndRefusesToLead()
    {
        CreateTopic(leader: 1);

        var follow = Assert.Single(_fetchers.Followed);
        Assert.Equal(1, follow.LeaderId);
        Assert.Equal(0, follow.LeaderEpoch);
        Assert.False(follow.Partition.IsLeader);
        Assert.Equal(1, follow.Partition.LeaderId);
    }

    [Fact]
    public void Apply_NewLeaderEpoch_RestartsFollowingTheNewLeader()
    {
        CreateTopic(leader: 1);
        ChangeLeader(3);

        Assert.Equal(2, _fetchers.Followed.Count);
        Assert.Equal(3, _fetchers.Followed[1].LeaderId);
        Assert.Equal(1, _fetchers.Followed[1].LeaderEpoch);
    }

    [Fact]
    public void Apply_SameEpochIsrChange_KeepsTheFetchAsItIs()
    {
        CreateTopic(leader: 1);
        Commit(new PartitionChangeRecord { PartitionId = 0, TopicId = TempLogs.TopicId, Isr = [1, 2] });

        Assert.Single(_fetchers.Followed);
        Assert.Empty(_fetchers.Unfollowed);
    }

    [Fact]
    public void Apply_FollowerBecomesLeader_StopsFetchingBeforeLeading()
    {
        CreateTopic(leader: 1);
        _fetchers.OnUnfollow = partition => Assert.False(partition.IsLeader); // no fetcher append may race the new epoch
        ChangeLeader(Me);

        var partition = Assert.Single(_fetchers.Unfollowed);
        Assert.True(partition.IsLeader);
        Assert.Equal(1, partition.LeaderEpoch);
        Assert.Single(_fetchers.Followed);
    }

    [Fact]
    public void Apply_LeaderBecomesFollower_FollowsTheNewLeader()
    {
        CreateTopic(leader: Me);
        Assert.Empty(_fetchers.Followed);

        ChangeLeader(3);

        var follow = Assert.Single(_fetchers.Followed);
        Assert.Equal(3, follow.LeaderId);
        Assert.False(follow.Partition.IsLeader);
        Assert.Null(follow.Partition.Replicas);
    }

    [Fact]
    public void AppendAsLeader_AfterTheImageMadeItAFollower_RefusedWithNotLeaderOrFollower()
    {
        CreateTopic(leader: Me);
        var partition = _replicas.Get("t", 0)!;
        Assert.Equal(ErrorCode.None, partition.AppendAsLeader(LeaderBatches.Batch(0, 2, -1), _clock.NowMs).Error);

        ChangeLeader(3);
        var refused = partition.AppendAsLeader(LeaderBatches.Batch(0, 2, -1), _clock.NowMs);

        Assert.Equal(ErrorCode.NotLeaderOrFollower, refused.Error);
        Assert.Equal(2, partition.Log.LogEndOffset);
    }

    [Fact]
    public void Apply_TopicDeleted_UnfollowedBeforeItsLogIsDeleted()
    {
        CreateTopic(leader: 1);
        var partition = _fetchers.Followed[0].Partition;
        _fetchers.OnUnfollow = p => Assert.True(_logs.Manager.TryGetLog("t", 0, out _));
        Commit(new RemoveTopicRecord { TopicId = TempLogs.TopicId });

        Assert.Same(partition, Assert.Single(_fetchers.Unfollowed));
    }

    [Fact]
    public void Apply_ReassignedAway_UnfollowedBeforeItsLogIsDeleted()
    {
        CreateTopic(leader: 1);
        var partition = _fetchers.Followed[0].Partition;
        _fetchers.OnUnfollow = p => Assert.True(_logs.Manager.TryGetLog("t", 0, out _));
        Commit(new PartitionChangeRecord { PartitionId = 0, TopicId = TempLogs.TopicId, Replicas = [1, 3], Isr = [1, 3] });

        Assert.Same(partition, Assert.Single(_fetchers.Unfollowed));
        Assert.False(_logs.Manager.TryGetLog("t", 0, out _));
        Assert.Null(_replicas.Get("t", 0));
    }

    [Fact]
    public void AttachFetchers_AfterImagesApplied_FollowsWhatTheImageAlreadyAssigns()
    {
        var replicas = new ReplicaManager(Me, _logs.Manager, (_, _) => LogConfig.Default,
            new ReplicaManagerOptions(30_000, _clock, null), NullLogger<ReplicaManager>.Instance);
        CreateTopic(leader: 3, leaderEpoch: 4);
        replicas.Apply(_images.Image);
        var late = new RecordingFetchers();

        replicas.AttachFetchers(late);

        var follow = Assert.Single(late.Followed);
        Assert.Equal((3, 4), (follow.LeaderId, follow.LeaderEpoch));
    }

    private sealed class RecordingFetchers : IFollowerFetching
    {
        public List<FollowerAssignment> Followed { get; } = [];

        public List<Partition> Unfollowed { get; } = [];

        public Action<Partition>? OnUnfollow { get; set; }

        public void Follow(IReadOnlyList<FollowerAssignment> assignments) => Followed.AddRange(assignments);

        public void Unfollow(IReadOnlyList<Partition> partitions)
        {
            foreach (var partition in partitions)
            {
                OnUnfollow?.Invoke(partition);
                Unfollowed.Add(partition);
            }
        }
    }
}
