namespace Operator.Kube;

/// <summary>
/// The controller work queue, with client-go's contract: a key waits in the queue at most once however often it is
/// added; a key is never handed to two workers at once, and a key added while it is being processed is handed out
/// again after <see cref="Done"/>; failures back off per key exponentially (<see cref="AddRateLimited"/>) until
/// <see cref="Forget"/>. Delays run on the injected <see cref="TimeProvider"/>. Thread-safe.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Queue<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly Dictionary<TKey, (ITimer Timer, long DueTicks)> _delayed = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _shutDown = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;

    /// <param name="baseDelay">First retry delay after a failure (client-go: 5 ms).</param>
    /// <param name="maxDelay">Cap of the exponential backoff (client-go: 1000 s).</param>
    public WorkQueue(TimeProvider time, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        _time = time;
        _baseDelay = baseDelay;
        _maxDelay = maxDelay;
    }

    /// <summary>Keys waiting (not counting those being processed or delayed).</summary>
    public int Length
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public void Add(TKey key)
    {
        lock (_lock)
        {
            if (_shutDown.IsCancellationRequested || !_dirty.Add(key) || _processing.Contains(key))
            {
                return;
            }

            _queue.Enqueue(key);
        }

        _available.Release();
    }

    /// <summary>Waits for the next key and marks it as being processed; throws <see cref="OperationCanceledException"/> once shut down.</summary>
    public async ValueTask<TKey> TakeAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutDown.Token);
        while (true)
        {
            await _available.WaitAsync(linked.Token).ConfigureAwait(false);
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    continue;
                }

                var key = _queue.Dequeue();
                _processing.Add(key);
                _dirty.Remove(key);
                return key;
            }
        }
    }

    /// <summary>Ends processing of a key; if it was added meanwhile it is queued again.</summary>
    public void Done(TKey key)
    {
        bool requeue;
        lock (_lock)
        {
            _processing.Remove(key);
            requeue = _dirty.Contains(key) && !_shutDown.IsCancellationRequested;
            if (requeue)
            {
                _queue.Enqueue(key);
            }
        }

        if (requeue)
        {
            _available.Release();
        }
    }

    /// <summary>Adds the key after <paramref name="delay"/>; an earlier pending delay for the same key wins.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        lock (_lock)
        {
            if (_shutDown.IsCancellationRequested)
            {
                return;
            }

            var due = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
            if (_delayed.TryGetValue(key, out var pending))
            {
                if (pending.DueTicks <= due)
                {
                    return;
                }

                pending.Timer.Dispose();
            }

            var timer = _time.CreateTimer(static state => ((WorkQueue<TKey>)((object[])state!)[0]).Fire((TKey)((object[])state!)[1]),
                new object[] { this, key }, delay, Timeout.InfiniteTimeSpan);
            _delayed[key] = (timer, due);
        }
    }

    /// <summary>Re-adds a key that failed after its per-key exponential backoff; returns the delay used.</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        int failures;
        lock (_lock)
        {
            failures = _failures.TryGetValue(key, out var n) ? n + 1 : 1;
            _failures[key] = failures;
        }

        var delay = Backoff(failures);
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Clears a key's failure count (after a successful reconcile).</summary>
    public void Forget(TKey key)
    {
        lock (_lock)
        {
            _failures.Remove(key);
        }
    }

    public int Failures(TKey key)
    {
        lock (_lock)
        {
            return _failures.TryGetValue(key, out var n) ? n : 0;
        }
    }

    /// <summary>Stops handing out keys: waiting and future <see cref="TakeAsync"/> calls end with cancellation.</summary>
    public void ShutDown()
    {
        lock (_lock)
        {
            foreach (var (timer, _) in _delayed.Values)
            {
                timer.Dispose();
            }

            _delayed.Clear();
        }

        _shutDown.Cancel();
    }

    public void Dispose()
    {
        ShutDown();
        _shutDown.Dispose();
        _available.Dispose();
    }

    private TimeSpan Backoff(int failures)
    {
        var exponent = Math.Min(failures - 1, 62);
        var ticks = _baseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= _maxDelay.Ticks ? _maxDelay : TimeSpan.FromTicks((long)ticks);
    }

    private void Fire(TKey key)
    {
        lock (_lock)
        {
            if (_delayed.Remove(key, out var pending))
            {
                pending.Timer.Dispose();
            }
        }

        Add(key);
    }
}
