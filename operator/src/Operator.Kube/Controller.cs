using Microsoft.Extensions.Logging;

namespace Operator.Kube;

/// <summary>What a reconcile asks for next. Immutable.</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    /// <summary>Converged: nothing to do until something changes.</summary>
    public static ReconcileResult Done => default;

    /// <summary>Look again after <paramref name="delay"/> (waiting for pods, periodic checks).</summary>
    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>
/// The controller-runtime contract: reconcile one key, reading the current state from caches, never from the event
/// that woke it. Return <see cref="ReconcileResult.Done"/> or <see cref="ReconcileResult.After"/>; throw to be
/// retried with the key's exponential backoff. Implementations must be safe to call for different keys concurrently.
/// </summary>
public interface IReconciler
{
    Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken);
}

/// <summary>
/// Runs a reconciler: keys from informers (or anyone) go into a de-duplicating work queue, and a fixed number of
/// workers reconcile them, one worker per key at a time. A failed reconcile is retried after the key's exponential
/// backoff; a successful one resets it. Thread-safe.
/// </summary>
public sealed partial class Controller : IDisposable
{
    private readonly string _name;
    private readonly IReconciler _reconciler;
    private readonly WorkQueue<ObjectKey> _queue;
    private readonly int _workers;
    private readonly ILogger _logger;
    private long _reconciles;
    private long _failures;

    private readonly OperatorMetrics? _metrics;

    /// <param name="name">The kind reconciled (<c>Kafka</c>): the <c>kind</c> label of the metrics, and the logs' name.</param>
    /// <param name="metrics">Strimzi's reconciliation metrics; null records none.</param>
    public Controller(string name, IReconciler reconciler, WorkQueue<ObjectKey> queue, int workers, ILogger logger, OperatorMetrics? metrics = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _metrics = metrics;
        _name = name;
        _reconciler = reconciler;
        _queue = queue;
        _workers = workers;
        _logger = logger;
    }

    /// <summary>Reconciles run so far, and how many of them threw; for metrics and tests.</summary>
    public (long Reconciles, long Failures) Counts => (Interlocked.Read(ref _reconciles), Interlocked.Read(ref _failures));

    /// <summary>Queues a key (wire informers' <c>Changed</c> events here).</summary>
    public void Enqueue(ObjectKey key) => _queue.Add(key);

    /// <summary>Runs the workers until cancelled, then stops the queue and waits for reconciles in progress.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var workers = new Task[_workers];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkAsync(cancellationToken), CancellationToken.None);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _queue.ShutDown();
        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    public void Dispose() => _queue.Dispose();

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ObjectKey key;
            try
            {
                key = await _queue.TakeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var started = _metrics?.Started(_name, key.Namespace) ?? 0;
            try
            {
                Interlocked.Increment(ref _reconciles);
                var result = await _reconciler.ReconcileAsync(key, cancellationToken).ConfigureAwait(false);
                _metrics?.Succeeded(_name, key.Namespace, started);
                _queue.Forget(key);
                if (result.RequeueAfter is { } delay)
                {
                    _queue.AddAfter(key, delay);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping mid-reconcile: the next leader (or start) reconciles the key again.
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _failures);
                _metrics?.Failed(_name, key.Namespace, started);
                var delay = _queue.AddRateLimited(key);
                LogReconcileFailed(_logger, _name, key.ToString(), delay.TotalMilliseconds, e);
            }
            finally
            {
                _queue.Done(key);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Controller}: reconcile of {Key} failed; retrying in {DelayMs} ms")]
    private static partial void LogReconcileFailed(ILogger logger, string controller, string key, double delayMs, Exception exception);
}
