using Broker.Cluster.Replication;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Cluster.Tests.Replication;

/// <summary>The follower replication throttle in the fetch loop (Kafka's shouldFollowerThrottle), against a scripted leader.</summary>
public sealed class ReplicaFetcherThrottleTests : IAsyncLifetime
{
    private const int Backoff = 1_000;
    private readonly FakeTimeProvider _time = new();
    private readonly TempLogs _logs;
    private readonly ScriptedLeader _leader = new();
    private readonly ReplicationQuota _throttle = new(samples: 11, windowMs: 1000);
    private readonly ReplicaFetcher _fetcher;

    public ReplicaFetcherThrottleTests()
    {
        _logs = new TempLogs(_time);
        _throttle.UpdateBound(10);
        _fetcher = new ReplicaFetcher(1, 0, new ReplicaFetcherOptions(NodeId: 2, BackoffMs: Backoff, Throttle: _throttle), _leader, () => 42, _time,
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

    [Fact]
    public async Task Run_ThrottledPartitionBehindTheHighWatermark_LeftOutWhileOverTheRate_InSyncOneKeepsFetching()
    {
        _throttle.UpdateThrottledReplicas([KeyValuePair.Create("t", "0:2,1:2")], nodeId: 2);
        var inSync = _logs.NewPartition("t", 0);
        var behind = _logs.NewPartition("t", 1);
        _fetcher.Add(new FollowerFetchState(inSync, 1, 5));
        _fetcher.Add(new FollowerFetchState(behind, 1, 5));

        // Partition 0 ends at the leader's high watermark (lag 0); partition 1 gets 3 of the 50 records the leader has
        // committed. Both are throttled partitions, so both answers count against the rate, which is now far over 10 B/s.
        var (first, answer) = await _leader.NextAsync();
        Assert.Equal(2, first.Partitions.Count);
        var answered = ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3));
        answered.Responses[0].Partitions.Add(Data(1, LeaderBatches.Batch(0, 3, epoch: 5), 50));
        answer.SetResult(answered);

        var (second, next) = await _leader.NextAsync();
        Assert.Equal(0, Assert.Single(second.Partitions).Partition);
        Assert.True(_throttle.IsExceeded(_time.GetUtcNow().ToUnixTimeMilliseconds()));
        Assert.Equal(3, behind.Log.LogEndOffset);

        // Once the recorded traffic has left the 11 s window, the lagging partition is fetched again.
        _time.Advance(TimeSpan.FromSeconds(12));
        next.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, null, 3)));
        var (third, _) = await _leader.NextAsync();
        Assert.Equal([0, 1], third.Partitions.Select(p => p.Partition).Order().ToArray());
        Assert.Equal(3, third.Partitions.Single(p => p.Partition == 1).FetchOffset);
    }

    [Fact]
    public async Task Run_OnlyThrottledPartitionOverTheRate_LoopWaitsTheBackoffThenFetchesWhenUnderIt()
    {
        _throttle.UpdateThrottledReplicas([KeyValuePair.Create("t", "*")], nodeId: 2);
        var behind = _logs.NewPartition("t", 0);
        _fetcher.Add(new FollowerFetchState(behind, 1, 5));
        var (_, answer) = await _leader.NextAsync();
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 50)));
        await WaitUntilAsync(() => behind.Log.LogEndOffset == 3);
        await Task.Delay(100);
        Assert.Equal(0, _leader.Pending);

        // Moved on one backoff at a time (the loop arms its timer after computing the wait), until the window has passed.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_leader.Pending == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no fetch in 30 s");
            _time.Advance(TimeSpan.FromMilliseconds(Backoff));
            await Task.Delay(20);
        }

        var (retry, _) = await _leader.NextAsync();
        Assert.Equal(3, Assert.Single(retry.Partitions).FetchOffset);
        Assert.False(_throttle.IsExceeded(_time.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    private static Protocol.Messages.FetchResponse.PartitionData Data(int partition, byte[]? records, long highWatermark) => new()
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
}
