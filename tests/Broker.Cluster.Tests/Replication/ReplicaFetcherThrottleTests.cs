using Broker.Cluster.Replication;

namespace Broker.Cluster.Tests.Replication;

/// <summary>The follower replication throttle in the fetch loop (Kafka's shouldFollowerThrottle), against a scripted leader.</summary>
public sealed class ReplicaFetcherThrottleTests : ScriptedFetcherTestBase
{
    private readonly ReplicationQuota _throttle;

    public ReplicaFetcherThrottleTests()
        : this(new ReplicationQuota(samples: 11, windowMs: 1000))
    {
    }

    private ReplicaFetcherThrottleTests(ReplicationQuota throttle)
        : base(throttle)
    {
        _throttle = throttle;
        _throttle.UpdateBound(10);
    }

    [Fact]
    public async Task Run_ThrottledPartitionBehindTheHighWatermark_LeftOutWhileOverTheRate_InSyncOneKeepsFetching()
    {
        _throttle.UpdateThrottledReplicas([KeyValuePair.Create("t", "0:2,1:2")], nodeId: 2);
        var inSync = Logs.NewPartition("t", 0);
        var behind = Logs.NewPartition("t", 1);
        Fetcher.Add(new FollowerFetchState(inSync, 1, 5));
        Fetcher.Add(new FollowerFetchState(behind, 1, 5));

        // Partition 0 ends at the leader's high watermark (lag 0); partition 1 gets 3 of the 50 records the leader has
        // committed. Both are throttled partitions, so both answers count against the rate, which is now far over 10 B/s.
        var (first, answer) = await Leader.NextAsync();
        Assert.Equal(2, first.Partitions.Count);
        var answered = ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 3));
        answered.Responses[0].Partitions.Add(Data(1, LeaderBatches.Batch(0, 3, epoch: 5), 50));
        answer.SetResult(answered);

        var (second, next) = await Leader.NextAsync();
        Assert.Equal(0, Assert.Single(second.Partitions).Partition);
        Assert.True(_throttle.IsExceeded(Time.GetUtcNow().ToUnixTimeMilliseconds()));
        Assert.Equal(3, behind.Log.LogEndOffset);

        // Once the recorded traffic has left the 11 s window, the lagging partition is fetched again.
        Time.Advance(TimeSpan.FromSeconds(12));
        next.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, null, 3)));
        var (third, _) = await Leader.NextAsync();
        Assert.Equal([0, 1], third.Partitions.Select(p => p.Partition).Order().ToArray());
        Assert.Equal(3, third.Partitions.Single(p => p.Partition == 1).FetchOffset);
    }

    [Fact]
    public async Task Run_OnlyThrottledPartitionOverTheRate_LoopWaitsTheBackoffThenFetchesWhenUnderIt()
    {
        _throttle.UpdateThrottledReplicas([KeyValuePair.Create("t", "*")], nodeId: 2);
        var behind = Logs.NewPartition("t", 0);
        Fetcher.Add(new FollowerFetchState(behind, 1, 5));
        var (_, answer) = await Leader.NextAsync();
        answer.SetResult(ScriptedLeader.Answer(TempLogs.TopicId, Data(0, LeaderBatches.Batch(0, 3, epoch: 5), 50)));
        await WaitUntilAsync(() => behind.Log.LogEndOffset == 3);
        await Task.Delay(100);
        Assert.Equal(0, Leader.Pending);

        // Moved on one backoff at a time (the loop arms its timer after computing the wait), until the window has passed.
        await AdvanceUntilFetchAsync("no fetch");

        var (retry, _) = await Leader.NextAsync();
        Assert.Equal(3, Assert.Single(retry.Partitions).FetchOffset);
        Assert.False(_throttle.IsExceeded(Time.GetUtcNow().ToUnixTimeMilliseconds()));
    }
}
