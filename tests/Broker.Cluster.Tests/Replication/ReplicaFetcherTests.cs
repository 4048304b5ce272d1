using Broker.Cluster.Network;
using Broker.Cluster.Replication;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Replication;

/// <summary>The follower fetch loop against a scripted leader: no sockets, a fake clock.</summary>
public sealed class ReplicaFetcherTests : ScriptedFetcherTestBase
{
    [Fact]
    public async Task Run_FollowedPartition_FetchesWithReplicaStateAndEpochsAndAppendsTheAnswer()
    {
        var partition = Logs.NewPartition();
        Fetcher.Add(new FollowerFetchState(partition, leaderId: 1, leaderEpoch: 5));

        var (first, answer) = await Leader.NextAsync();
        Assert.Equal((2, 42L), (first.ReplicaId, first.ReplicaEpoch));
        Assert.Equal((500, 1, 10 * 1024 * 1024), (first.MaxWaitMs, first.MinBytes, first.MaxBytes));
        Assert.Equal(new FetchedPartition(TempLogs.TopicId, 0, 0, 5, -1, 0, 1024 * 1024), Assert.Single(first.Partitions));
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3)));

        var (second, _) = await Leader.NextAsync();
        var entry = Assert.Single(second.Partitions);
        Assert.Equal((3L, 5, 5), (entry.FetchOffset, entry.CurrentLeaderEpoch, entry.LastFetchedEpoch));
        Assert.Equal(3, partition.Log.LogEndOffset);
        Assert.Equal(3, partition.Log.HighWatermark);
    }

    [Fact]
    public async Task Run_RequestFails_PartitionsWaitTheFetchBackoff()
    {
        var partition = Logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 5);
        Fetcher.Add(state);

        var (_, answer) = await Leader.NextAsync();
        var failedAt = Time.GetUtcNow().ToUnixTimeMilliseconds();
        answer.SetException(new KafkaConnectionException("connection refused"));
        await WaitUntilAsync(() => state.DelayedUntilMs == failedAt + Backoff);
        Assert.Equal(0, Leader.Pending);

        await AdvanceUntilFetchAsync("no retry");

        var (retry, _) = await Leader.NextAsync();
        Assert.Equal(0, Assert.Single(retry.Partitions).FetchOffset);
    }

    [Fact]
    public async Task Run_PartitionReplacedWhileFetching_StaleAnswerIgnoredAndTheNewEpochFetched()
    {
        var partition = Logs.NewPartition();
        Fetcher.Add(new FollowerFetchState(partition, 1, 5));
        var (_, answer) = await Leader.NextAsync();

        Fetcher.Add(new FollowerFetchState(partition, 1, 6)); // a new leader epoch arrived meanwhile
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3)));

        var (next, _) = await Leader.NextAsync();
        Assert.Equal(6, Assert.Single(next.Partitions).CurrentLeaderEpoch);
        Assert.Equal(0, partition.Log.LogEndOffset);
    }

    [Fact]
    public async Task Run_PartitionRemovedWhileFetching_NotAppendedAndNotFetchedAgain()
    {
        var removed = Logs.NewPartition("t", 0);
        var kept = Logs.NewPartition("t", 1);
        Fetcher.Add(new FollowerFetchState(removed, 1, 5));
        var (_, answer) = await Leader.NextAsync();

        Assert.True(Fetcher.Remove(removed));
        Fetcher.Add(new FollowerFetchState(kept, 1, 5));
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3)));

        var (next, _) = await Leader.NextAsync();
        Assert.Equal(1, Assert.Single(next.Partitions).Partition);
        Assert.Equal(0, removed.Log.LogEndOffset);
    }

    [Fact]
    public async Task DisposeAsync_FetchInFlight_StopsTheLoopAndClosesTheConnection()
    {
        Fetcher.Add(new FollowerFetchState(Logs.NewPartition(), 1, 5));
        await Leader.NextAsync();

        await Fetcher.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(Leader.Disposed);
    }
}
