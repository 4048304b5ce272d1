using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Cluster.Tests.Replication;

/// <summary>
/// Which thread runs the waiters a partition wakes: a client append (the produce path) and a follower's fetch run parked
/// fetches and acks=all produces on the calling thread before returning; every other path hands them to the thread pool.
/// And which acks=all waiters a high-watermark move releases: those whose batches it covers, in any order of arrival.
/// </summary>
public sealed class PartitionWakeTests : IDisposable
{
    private const int Me = 1;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private readonly TempLogs _logs;
    private readonly ReplicaManager _replicas;
    private readonly ImageCommits _images;

    public PartitionWakeTests()
    {
        _logs = new TempLogs(_time);
        _replicas = new ReplicaManager(Me, _logs.Manager, (_, _) => LogConfig.Default with { FileDeleteDelayMs = 0, MinInsyncReplicas = 2 },
            new ReplicaManagerOptions(10_000, _time, (_, _) => Task.FromResult(new AlterIsrResult(ErrorCode.None, null))),
            NullLogger<ReplicaManager>.Instance);
        _images = new ImageCommits(_replicas);
        Commit(TestTopic.Topic(), TestTopic.Partition(Me));
    }

    public void Dispose()
    {
        _replicas.StopProposals();
        _logs.Dispose();
    }

    private Partition Partition => _replicas.All().Single();

    private void Commit(params IApiMessage[] records) => _images.Commit(records);

    /// <summary>Records the thread a continuation of <paramref name="task"/> ran on and whether the caller was still inside its call.</summary>
    private sealed class Observer
    {
        private readonly TaskCompletionSource<(int Thread, bool DuringCall)> _ran = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _inCall;

        public Observer(Task task) =>
            task.ContinueWith(_ => _ran.TrySetResult((Environment.CurrentManagedThreadId, _inCall)), TaskContinuationOptions.ExecuteSynchronously);

        public Task<(int Thread, bool DuringCall)> Ran => _ran.Task;

        public void Call(Action action)
        {
            _inCall = true;
            try
            {
                action();
            }
            finally
            {
                _inCall = false;
            }
        }
    }

    [Fact]
    public async Task AppendAsLeader_WakeInline_ParkedFetchRunsOnTheCallingThreadBeforeItReturns()
    {
        var observer = new Observer(Partition.NextAppend());
        var caller = Environment.CurrentManagedThreadId;

        observer.Call(() => Assert.Equal(ErrorCode.None, Partition.AppendAsLeader(LeaderBatches.Batch(0, 2, 0), _time.GetUtcNow().ToUnixTimeMilliseconds(), wakeInline: true).Error));

        Assert.True(observer.Ran.IsCompleted);
        Assert.Equal((caller, true), await observer.Ran);
    }

    [Fact]
    public async Task AppendAsLeader_Default_ParkedFetchWokenFromThePool()
    {
        var observer = new Observer(Partition.NextAppend());
        var caller = Environment.CurrentManagedThreadId;

        observer.Call(() => Assert.Equal(ErrorCode.None, Partition.AppendAsLeader(LeaderBatches.Batch(0, 2, 0), _time.GetUtcNow().ToUnixTimeMilliseconds()).Error));

        var (thread, duringCall) = await observer.Ran.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(thread == caller && duringCall, "the waiter ran inside the append on the caller's thread");
    }

    [Fact]
    public async Task OnFollowerFetch_HighWatermarkReachesTheBatch_AcksAllWaiterCompletesBeforeItReturns()
    {
        var end = Partition.AppendAsLeader(LeaderBatches.Batch(0, 3, 0), _time.GetUtcNow().ToUnixTimeMilliseconds(), wakeInline: true).LastOffset + 1;
        var waiter = Partition.WaitForHighWatermarkAsync(end, CancellationToken.None);
        Assert.False(waiter.IsCompleted);

        // On a pool thread, as a request handler is: a test's synchronization context would make the await queue itself.
        var completedBeforeReturn = await Task.Run(() =>
        {
            _replicas.OnFollowerFetch(Partition, 2, end, 0, -1);
            Assert.False(waiter.IsCompleted);
            _replicas.OnFollowerFetch(Partition, 3, end, 0, -1);
            return waiter.IsCompleted;
        });

        Assert.Equal(end, Partition.Log.HighWatermark);
        Assert.True(completedBeforeReturn, "the acks=all waiter was not completed by the fetch that moved the high watermark");
        Assert.Equal(ErrorCode.None, await waiter);
    }

    [Fact]
    public async Task OnFollowerFetch_HighWatermarkMoves_ParkedConsumerFetchRunsOnTheCallingThread()
    {
        var end = Partition.AppendAsLeader(LeaderBatches.Batch(0, 1, 0), _time.GetUtcNow().ToUnixTimeMilliseconds(), wakeInline: true).LastOffset + 1;
        var observer = new Observer(Partition.NextAppend());
        var caller = Environment.CurrentManagedThreadId;

        observer.Call(() =>
        {
            _replicas.OnFollowerFetch(Partition, 2, end, 0, -1);
            _replicas.OnFollowerFetch(Partition, 3, end, 0, -1);
        });

        Assert.True(observer.Ran.IsCompleted);
        Assert.Equal((caller, true), await observer.Ran);
    }

    [Fact]
    public async Task LeadershipMoves_WaitersWokenFromThePoolWithNotLeader()
    {
        var end = Partition.AppendAsLeader(LeaderBatches.Batch(0, 1, 0), _time.GetUtcNow().ToUnixTimeMilliseconds(), wakeInline: true).LastOffset + 1;
        var waiter = Partition.WaitForHighWatermarkAsync(end, CancellationToken.None).AsTask();
        var fetch = new Observer(Partition.NextAppend());
        var produce = new Observer(waiter);

        var caller = Environment.CurrentManagedThreadId;

        produce.Call(() => fetch.Call(() => Commit(new PartitionChangeRecord { TopicId = TempLogs.TopicId, PartitionId = 0, Leader = 2 })));

        Assert.Equal(ErrorCode.NotLeaderOrFollower, await waiter.WaitAsync(TimeSpan.FromSeconds(10)));
        foreach (var (thread, duringCall) in new[] { await fetch.Ran.WaitAsync(TimeSpan.FromSeconds(10)), await produce.Ran.WaitAsync(TimeSpan.FromSeconds(10)) })
        {
            Assert.False(thread == caller && duringCall, "a waiter ran inside the image change on the caller's thread");
        }
    }

    private long Append(int records) =>
        Partition.AppendAsLeader(LeaderBatches.Batch(0, records, 0), _time.GetUtcNow().ToUnixTimeMilliseconds(), wakeInline: true).LastOffset + 1;

    private Task FollowersFetchAsync(long offset) => Task.Run(() =>
    {
        _replicas.OnFollowerFetch(Partition, 2, offset, 0, -1);
        _replicas.OnFollowerFetch(Partition, 3, offset, 0, -1);
    });

    [Fact]
    public async Task HighWatermarkMoves_ReleasesOnlyTheWaitersItCovers()
    {
        var first = Append(2);
        var second = Append(3);
        var third = Append(1);
        // Registered out of offset order, as produces on different connections may be.
        var waitThird = Partition.WaitForHighWatermarkAsync(third, CancellationToken.None).AsTask();
        var waitFirst = Partition.WaitForHighWatermarkAsync(first, CancellationToken.None).AsTask();
        var waitSecond = Partition.WaitForHighWatermarkAsync(second, CancellationToken.None).AsTask();

        await FollowersFetchAsync(second);

        Assert.Equal(ErrorCode.None, await waitFirst.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ErrorCode.None, await waitSecond.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(waitThird.IsCompleted);

        await FollowersFetchAsync(third);
        Assert.Equal(ErrorCode.None, await waitThird.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task WaiterTimesOut_ThrowsAndALaterMoveStillReleasesTheOthers()
    {
        var first = Append(1);
        var second = Append(1);
        using var timeout = new CancellationTokenSource();
        var timedOut = Partition.WaitForHighWatermarkAsync(first, timeout.Token).AsTask();
        var waiting = Partition.WaitForHighWatermarkAsync(second, CancellationToken.None).AsTask();

        await timeout.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => timedOut);
        Assert.False(waiting.IsCompleted);
        await FollowersFetchAsync(second);
        Assert.Equal(ErrorCode.None, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task IsrShrinksBelowMinInsyncReplicas_WaiterWaitsWhileTheHighWatermarkStops()
    {
        var end = Append(1);
        var waiter = Partition.WaitForHighWatermarkAsync(end, CancellationToken.None).AsTask();
        ApplyIsr(Me, 2);
        await FollowersFetchAsync(end);
        Assert.Equal(ErrorCode.None, await waiter.WaitAsync(TimeSpan.FromSeconds(10)));

        var next = Append(1);
        var stopped = Partition.WaitForHighWatermarkAsync(next, CancellationToken.None).AsTask();
        ApplyIsr(Me);
        await FollowersFetchAsync(next);

        // Kafka stops the high watermark while the ISR is below min.insync.replicas 2: the produce waits for its timeout.
        Assert.Equal(end, Partition.Log.HighWatermark);
        await Task.Delay(50);
        Assert.False(stopped.IsCompleted);
    }

    [Fact]
    public async Task IsrShrinksBelowMinInsyncReplicasAfterTheHighWatermarkCoveredTheBatch_NotEnoughReplicasAfterAppend()
    {
        var end = Append(1);
        await FollowersFetchAsync(end);
        ApplyIsr(Me);

        var waiter = Partition.WaitForHighWatermarkAsync(end, CancellationToken.None);

        Assert.True(waiter.IsCompleted);
        Assert.Equal(ErrorCode.NotEnoughReplicasAfterAppend, await waiter);
    }

    private void ApplyIsr(params int[] isr) => Commit(new PartitionChangeRecord { TopicId = TempLogs.TopicId, PartitionId = 0, Isr = [.. isr] });

    [Fact]
    public async Task NotLeader_WaiterAnsweredAtOnce()
    {
        var end = Append(1);
        Commit(new PartitionChangeRecord { TopicId = TempLogs.TopicId, PartitionId = 0, Leader = 2 });

        var waiter = Partition.WaitForHighWatermarkAsync(end, CancellationToken.None);

        Assert.True(waiter.IsCompleted);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, await waiter);
    }
}
