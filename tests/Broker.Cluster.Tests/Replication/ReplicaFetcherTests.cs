using Broker.Cluster.Network;
using Broker.Cluster.Replication;
using Broker.Protocol.Messages;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Cluster.Tests.Replication;

/// <summary>The follower fetch loop against a scripted leader: no sockets, a fake clock.</summary>
public sealed class ReplicaFetcherTests : IAsyncLifetime
{
    private const int Backoff = 1_000;
    private readonly FakeTimeProvider _time = new();
    private readonly TempLogs _logs;
    private readonly ScriptedLeader _leader = new();
    private readonly ReplicaFetcher _fetcher;

    public ReplicaFetcherTests()
    {
        _logs = new TempLogs(_time);
        _fetcher = new ReplicaFetcher(1, 0, new ReplicaFetcherOptions(NodeId: 2, BackoffMs: Backoff), _leader, () => 42, _time,
            NullLogger<ReplicaFetcher>.Instance);
    }

    public Task InitializeAsync()
    {
        _fetcher.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _fetcher.DisposeAsync();
        _logs.Dispose();
    }

    private static FetchResponse.PartitionData Data(int partition, byte[]? records, long highWatermark) => new()
    {
        PartitionIndex = partition,
        HighWatermark = highWatermark,
        LogStartOffset = 0,
        Records = records,
    };

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in 30 s");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Run_FollowedPartition_FetchesWithReplicaStateAndEpochsAndAppendsTheAnswer()
    {
        var partition = _logs.NewPartition();
        _fetcher.Add(new FollowerFetchState(partition, leaderId: 1, leaderEpoch: 5));

        var (first, answer) = await _leader.NextAsync();
        Assert.Equal((2, 42L), (first.ReplicaId, first.ReplicaEpoch));
        Assert.Equal((500, 1, 10 * 1024 * 1024), (first.MaxWaitMs, first.MinBytes, first.MaxBytes));
        Assert.Equal(new FetchedPartition(TempLogs.TopicId, 0, 0, 5, -1, 0, 1024 * 1024), Assert.Single(first.Partitions));
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3)));

        var (second, _) = await _leader.NextAsync();
        var entry = Assert.Single(second.Partitions);
        Assert.Equal((3L, 5, 5), (entry.FetchOffset, entry.CurrentLeaderEpoch, entry.LastFetchedEpoch));
        Assert.Equal(3, partition.Log.LogEndOffset);
        Assert.Equal(3, partition.Log.HighWatermark);
    }

    [Fact]
    public async Task Run_RequestFails_PartitionsWaitTheFetchBackoff()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 5);
        _fetcher.Add(state);

        var (_, answer) = await _leader.NextAsync();
        var failedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
        answer.SetException(new KafkaConnectionException("connection refused"));
        await WaitUntilAsync(() => state.DelayedUntilMs == failedAt + Backoff);
        Assert.Equal(0, _leader.Pending);

        // The loop computes its wait before it arms the fake timer; an advance landing between the two would be
        // missed, so the clock is moved on a backoff at a time until the retry shows (the first advance is enough
        // whenever the timer was already armed).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_leader.Pending == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no retry in 30 s");
            _time.Advance(TimeSpan.FromMilliseconds(Backoff));
            await Task.Delay(50);
        }

        var (retry, _) = await _leader.NextAsync();
        Assert.Equal(0, Assert.Single(retry.Partitions).FetchOffset);
    }

    [Fact]
    public async Task Run_PartitionReplacedWhileFetching_StaleAnswerIgnoredAndTheNewEpochFetched()
    {
        var partition = _logs.NewPartition();
        _fetcher.Add(new FollowerFetchState(partition, 1, 5));
        var (_, answer) = await _leader.NextAsync();

        _fetcher.Add(new FollowerFetchState(partition, 1, 6)); // a new leader epoch arrived meanwhile
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3)));

        var (next, _) = await _leader.NextAsync();
        Assert.Equal(6, Assert.Single(next.Partitions).CurrentLeaderEpoch);
        Assert.Equal(0, partition.Log.LogEndOffset);
    }

    [Fact]
    public async Task Run_PartitionRemovedWhileFetching_NotAppendedAndNotFetchedAgain()
    {
        var removed = _logs.NewPartition("t", 0);
        var kept = _logs.NewPartition("t", 1);
        _fetcher.Add(new FollowerFetchState(removed, 1, 5));
        var (_, answer) = await _leader.NextAsync();

        Assert.True(_fetcher.Remove(removed));
        _fetcher.Add(new FollowerFetchState(kept, 1, 5));
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3)));

        var (next, _) = await _leader.NextAsync();
        Assert.Equal(1, Assert.Single(next.Partitions).Partition);
        Assert.Equal(0, removed.Log.LogEndOffset);
    }

    [Fact]
    public async Task DisposeAsync_FetchInFlight_StopsTheLoopAndClosesTheConnection()
    {
        _fetcher.Add(new FollowerFetchState(_logs.NewPartition(), 1, 5));
        await _leader.NextAsync();

        await _fetcher.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(_leader.Disposed);
    }
}
