using Microsoft.Extensions.Time.Testing;

namespace Operator.Kube.Tests;

/// <summary>The work queue's contract, against a manual clock. No sockets.</summary>
public sealed class WorkQueueTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly WorkQueue<string> _queue;

    public WorkQueueTests()
    {
        _queue = new WorkQueue<string>(_time, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000));
    }

    public void Dispose() => _queue.Dispose();

    private async Task<string> TakeAsync() => await _queue.TakeAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);

    [Fact]
    public async Task Add_SameKeyTwiceBeforeTaken_QueuedOnce()
    {
        _queue.Add("a");
        _queue.Add("b");
        _queue.Add("a");

        Assert.Equal(2, _queue.Length);
        Assert.Equal("a", await TakeAsync());
        Assert.Equal("b", await TakeAsync());
        Assert.Equal(0, _queue.Length);
    }

    [Fact]
    public async Task Add_WhileBeingProcessed_NotHandedOutUntilDoneThenAgain()
    {
        _queue.Add("a");
        var key = await TakeAsync();

        _queue.Add("a");
        Assert.Equal(0, _queue.Length);
        var second = _queue.TakeAsync(CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(second.IsCompleted);

        _queue.Done(key);
        Assert.Equal("a", await second.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void AddRateLimited_RepeatedFailures_DelayDoublesUntilForgotten()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(5), _queue.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromMilliseconds(10), _queue.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromMilliseconds(20), _queue.AddRateLimited("a"));
        Assert.Equal(3, _queue.Failures("a"));

        _queue.Forget("a");

        Assert.Equal(0, _queue.Failures("a"));
        Assert.Equal(TimeSpan.FromMilliseconds(5), _queue.AddRateLimited("a"));
    }

    [Fact]
    public void AddRateLimited_ManyFailures_CappedAtMaxDelay()
    {
        TimeSpan last = default;
        for (var i = 0; i < 40; i++)
        {
            last = _queue.AddRateLimited("a");
        }

        Assert.Equal(TimeSpan.FromSeconds(1000), last);
    }

    [Fact]
    public async Task AddAfter_KeyAppearsOnlyWhenTheClockReachesTheDelay()
    {
        _queue.AddAfter("a", TimeSpan.FromSeconds(10));
        _queue.AddAfter("a", TimeSpan.FromSeconds(30)); // a later delay for a pending key changes nothing

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(0, _queue.Length);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("a", await TakeAsync());
        _queue.Done("a");
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, _queue.Length);
    }

    [Fact]
    public async Task ShutDown_WaitingTaker_EndsWithCancellation()
    {
        var waiting = _queue.TakeAsync(CancellationToken.None).AsTask();

        _queue.ShutDown();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        _queue.Add("late");
        Assert.Equal(0, _queue.Length);
    }
}
