using System.Buffers;

namespace Broker.Cluster.Network;

/// <summary>
/// A request written to a <see cref="ClientSession"/> and waiting for its response. The response buffer is handed over
/// exactly once: to the waiter, or back to the pool when the waiter gave up (timeout, cancellation) first. Thread-safe.
/// </summary>
internal sealed class PendingRequest
{
    private const int Waiting = 0;
    private const int Delivered = 1;
    private const int Abandoned = 2;

    private readonly TaskCompletionSource _done;
    private int _state;

    /// <param name="continueOnReader">Whoever awaits <see cref="Task"/> goes on on the thread that delivers the response
    /// (the read loop) instead of the thread pool (see <see cref="KafkaClientOptions.ContinueOnReader"/>).</param>
    public PendingRequest(short responseHeaderVersion, bool continueOnReader = false)
    {
        ResponseHeaderVersion = responseHeaderVersion;
        _done = new TaskCompletionSource(continueOnReader ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public int CorrelationId { get; set; }

    public short ResponseHeaderVersion { get; }

    public byte[]? Buffer { get; private set; }

    public int Length { get; private set; }

    public int BodyStart { get; private set; }

    public Task Task => _done.Task;

    public void Deliver(byte[] buffer, int length, int bodyStart)
    {
        Buffer = buffer;
        Length = length;
        BodyStart = bodyStart;
        if (Interlocked.CompareExchange(ref _state, Delivered, Waiting) == Waiting)
        {
            _done.TrySetResult();
        }
        else
        {
            Buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Fail(Exception reason) => _done.TrySetException(reason);

    /// <summary>The waiter stopped waiting: a response that arrived meanwhile goes back to the pool.</summary>
    public void Abandon()
    {
        if (Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Delivered && Buffer is { } buffer)
        {
            Buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
