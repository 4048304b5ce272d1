using System.IO.Pipelines;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Network;

/// <summary>
/// Deferred answers. Kafka handles one request per connection at a time, so a client that pipelines acks=all produce
/// requests (librdkafka sends up to max.in.flight of them) gets one replication round trip per request, and at a
/// steady rate with small batches the requests queue up behind each other without bound. Here, as in Redpanda's
/// two-stage produce, a produce request whose handler has appended its records and only waits for the high
/// watermark (<see cref="RequestContext.ResponseDeferrable"/>) is parked in <see cref="_deferred"/> and the loop goes on
/// with the next produce request, so later batches are appended (and replicated) while earlier ones wait. Nothing
/// else changes: appends happen in request order (the loop still handles one request at a time up to that point),
/// answers leave in request order (a deferred answer is written only after every earlier one, and a later answer
/// only after it), and any request other than Produce first waits until every deferred answer is written. At most
/// <see cref="MaxDeferred"/> answers wait; beyond that the loop waits for the oldest. Owned by the connection loop.
/// </summary>
internal sealed partial class KafkaConnection
{
    private const short ProduceApiKey = 0;

    // Bounds what one connection holds (requests are already appended; this only bounds answers in memory), well above
    // librdkafka's and the Java client's default in-flight limits for idempotent producers (5).
    private const int MaxDeferred = 64;

    private readonly Queue<DeferredAnswer> _deferred = new();

    private readonly record struct DeferredAnswer(RequestContext Context, Task<IApiMessage?> Response, long Started);

    /// <summary>Parks the answer when the handler allows it and it is not ready, or when earlier answers wait.</summary>
    private bool TryDefer(RequestContext context, ValueTask<IApiMessage?> pending, long started)
    {
        if (!context.ResponseDeferrable || (pending.IsCompleted && _deferred.Count == 0))
        {
            return false;
        }

        _deferred.Enqueue(new DeferredAnswer(context, pending.AsTask(), started));
        return true;
    }

    /// <summary>
    /// Writes deferred answers in order: every one (waiting for each) when <paramref name="wait"/>, else those ready at
    /// the head, waiting for the oldest only while more than <see cref="MaxDeferred"/> are parked. False when the
    /// connection must close (a handler failed).
    /// </summary>
    private async ValueTask<bool> WriteDeferredAsync(bool wait)
    {
        while (_deferred.TryPeek(out var next) && (wait || next.Response.IsCompleted || _deferred.Count > MaxDeferred))
        {
            _deferred.Dequeue();
            IApiMessage? response;
            try
            {
                response = await next.Response.ConfigureAwait(false);
                _metrics?.RequestCompleted(next.Context.ApiKey, next.Started);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                next.Context.ReturnResponseBuffers();
                ServerLog.HandlerFailed(_logger, e, next.Context.ApiKey, next.Context.ApiVersion, Id);
                return false;
            }

            if (!WriteAnswer(next.Context, response))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Waits for more input while deferred answers complete, sending each as soon as it and every earlier one are ready.
    /// Null when the connection must close.
    /// </summary>
    private async ValueTask<ReadResult?> ReadWhileAnsweringAsync(CancellationToken cancellationToken)
    {
        var read = _input.ReadAsync(cancellationToken);
        if (read.IsCompleted)
        {
            return await read.ConfigureAwait(false);
        }

        var input = read.AsTask();
        while (_deferred.TryPeek(out var head) && !input.IsCompleted)
        {
            await Task.WhenAny(input, head.Response).ConfigureAwait(false);
            if (!await WriteDeferredAsync(wait: false).ConfigureAwait(false))
            {
                _input.CancelPendingRead();
                return null;
            }

            await FlushAsync().ConfigureAwait(false);
        }

        return await input.ConfigureAwait(false);
    }
}
