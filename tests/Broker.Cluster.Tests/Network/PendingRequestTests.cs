using System.Buffers;
using Broker.Cluster.Network;

namespace Broker.Cluster.Tests.Network;

/// <summary>
/// Where the code awaiting a response goes on: on the thread pool by default, on the delivering thread (the connection's
/// read loop) for a connection that asks for it (replica fetchers), and a late response goes back to the pool either way.
/// </summary>
public sealed class PendingRequestTests
{
    [Fact]
    public async Task Deliver_ContinueOnReader_AwaiterRunsOnTheDeliveringThreadBeforeDeliverReturns()
    {
        var pending = new PendingRequest(responseHeaderVersion: 0, continueOnReader: true);

        var (awaiter, deliveringThread, resumedOn) = DeliverWhileAwaited(pending);

        Assert.True(awaiter.IsCompletedSuccessfully, "the awaiting code finished inside Deliver");
        Assert.Equal(deliveringThread, resumedOn());
        await awaiter;
        ArrayPool<byte>.Shared.Return(pending.Buffer!);
    }

    [Fact]
    public async Task Deliver_Default_AwaiterRunsOnAnotherThread()
    {
        var pending = new PendingRequest(responseHeaderVersion: 0);

        var (awaiter, deliveringThread, resumedOn) = DeliverWhileAwaited(pending);
        await awaiter.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotEqual(0, resumedOn());
        Assert.NotEqual(deliveringThread, resumedOn());
        ArrayPool<byte>.Shared.Return(pending.Buffer!);
    }

    [Fact]
    public void Deliver_AfterAbandon_ReturnsTheBufferInsteadOfKeepingIt()
    {
        var pending = new PendingRequest(responseHeaderVersion: 0, continueOnReader: true);
        pending.Abandon();

        pending.Deliver(ArrayPool<byte>.Shared.Rent(16), 16, 4);

        Assert.Null(pending.Buffer);
        Assert.False(pending.Task.IsCompleted);
    }

    /// <summary>
    /// Awaits the request here, then delivers its response from a thread of its own, as a read loop would. Returns the
    /// awaiting task right after Deliver returned, the delivering thread and the thread the awaiter resumed on (0 while
    /// it has not).
    /// </summary>
    private static (Task Awaiter, int DeliveringThread, Func<int> ResumedOn) DeliverWhileAwaited(PendingRequest pending)
    {
        var resumedOn = 0;
        // An async method runs synchronously up to its first await of an incomplete task, so the continuation is
        // registered by the time this call returns.
        var awaiter = AwaitAsync(pending, id => Volatile.Write(ref resumedOn, id));
        var deliveringThread = 0;
        var reader = new Thread(() =>
        {
            deliveringThread = Environment.CurrentManagedThreadId;
            pending.Deliver(ArrayPool<byte>.Shared.Rent(16), 16, 4);
        });
        reader.Start();
        reader.Join();
        return (awaiter, deliveringThread, () => Volatile.Read(ref resumedOn));
    }

    private static async Task AwaitAsync(PendingRequest pending, Action<int> resumed)
    {
        await pending.Task.ConfigureAwait(false);
        resumed(Environment.CurrentManagedThreadId);
    }
}
