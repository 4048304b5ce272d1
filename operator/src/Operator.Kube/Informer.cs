using System.Collections.Concurrent;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Operator.Kube;

/// <summary>Lists one kind: the items and the list's resourceVersion.</summary>
public delegate Task<(IReadOnlyList<T> Items, string ResourceVersion)> ListFunc<T>(CancellationToken cancellationToken);

/// <summary>Watches one kind from a resourceVersion, with bookmarks; stream errors go to <paramref name="onError"/>.</summary>
public delegate IAsyncEnumerable<(WatchEventType Type, T Object)> WatchFunc<T>(string resourceVersion, Action<Exception> onError,
    CancellationToken cancellationToken);

/// <summary>Informer timing. Immutable.</summary>
public sealed record InformerOptions
{
    /// <summary>How often every cached object is reported again, so controllers converge even without events (0 = never).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>First delay after a failed list or watch; it doubles up to <see cref="MaxBackoff"/>, with ±20 % jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A list-and-watch cache of one kind (client-go's reflector and store): lists, then watches from the list's
/// resourceVersion with bookmarks, resumes a watch the server ended from the last resourceVersion seen, re-lists on
/// 410 Gone, and backs off with jitter after failures. Every change (and every periodic resync) is reported as the
/// object's key; controllers read the current object from the cache, never from the event. Thread-safe: the cache is
/// read concurrently while one loop (<see cref="RunAsync"/>) writes it.
/// </summary>
public sealed partial class Informer<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ListFunc<T> _list;
    private readonly WatchFunc<T> _watch;
    private readonly InformerOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ObjectKey, T> _cache = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _lists;

    /// <param name="random">Jitter source, injected so tests are deterministic.</param>
    public Informer(ListFunc<T> list, WatchFunc<T> watch, InformerOptions options, TimeProvider time, Random random, ILogger logger)
    {
        _list = list;
        _watch = watch;
        _options = options;
        _time = time;
        _random = random;
        _logger = logger;
    }

    /// <summary>Raised with the key of every added, changed or deleted object, and of every object at each resync.</summary>
    public event Action<ObjectKey>? Changed;

    /// <summary>Completes after the first successful list.</summary>
    public Task Synced => _synced.Task;

    /// <summary>How many lists ran (the first, plus one per 410 or failure); for tests and metrics.</summary>
    public int Lists => Volatile.Read(ref _lists);

    public bool TryGet(ObjectKey key, out T value) => _cache.TryGetValue(key, out value!);

    public IReadOnlyList<T> Items() => [.. _cache.Values];

    /// <summary>Lists and watches until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var resync = _options.ResyncPeriod > TimeSpan.Zero
            ? _time.CreateTimer(static s => ((Informer<T>)s!).Resync(), this, _options.ResyncPeriod, _options.ResyncPeriod)
            : null;
        var failures = 0;
        string? resourceVersion = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                resourceVersion ??= await ListAsync(cancellationToken).ConfigureAwait(false);
                var outcome = await WatchAsync(resourceVersion, cancellationToken).ConfigureAwait(false);
                resourceVersion = outcome.ResourceVersion;
                if (outcome.Gone)
                {
                    // The server no longer has history from our resourceVersion: only a new list is consistent.
                    LogGone(_logger, typeof(T).Name, resourceVersion);
                    resourceVersion = null;
                }

                if (outcome.Failure is null)
                {
                    failures = 0;
                    continue;
                }

                throw outcome.Failure;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or KubernetesException
                or System.Text.Json.JsonException or OperationCanceledException)
            {
                var delay = Backoff(++failures);
                LogRetry(_logger, typeof(T).Name, delay.TotalMilliseconds, e);
                try
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        var (items, resourceVersion) = await _list(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _lists);
        var seen = new HashSet<ObjectKey>();
        foreach (var item in items)
        {
            var key = ObjectKey.Of(item);
            seen.Add(key);
            var changed = !_cache.TryGetValue(key, out var old) || old.Metadata.ResourceVersion != item.Metadata.ResourceVersion;
            _cache[key] = item;
            if (changed)
            {
                Changed?.Invoke(key);
            }
        }

        // Objects deleted while we were not watching.
        foreach (var key in _cache.Keys)
        {
            if (!seen.Contains(key) && _cache.TryRemove(key, out _))
            {
                Changed?.Invoke(key);
            }
        }

        _synced.TrySetResult();
        return resourceVersion;
    }

    private async Task<(string ResourceVersion, bool Gone, Exception? Failure)> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        var gone = false;
        Exception? failure = null;
        void OnError(Exception e)
        {
            if (e is KubernetesException { Status.Code: 410 })
            {
                gone = true;
            }
            else
            {
                failure ??= e;
            }
        }

        await foreach (var (type, obj) in _watch(resourceVersion, OnError, cancellationToken).ConfigureAwait(false))
        {
            if (obj?.Metadata?.ResourceVersion is { Length: > 0 } rv)
            {
                resourceVersion = rv;
            }

            if (type is WatchEventType.Bookmark or WatchEventType.Error || obj is null)
            {
                continue;
            }

            var key = ObjectKey.Of(obj);
            if (type == WatchEventType.Deleted)
            {
                _cache.TryRemove(key, out _);
            }
            else
            {
                _cache[key] = obj;
            }

            Changed?.Invoke(key);
        }

        return (resourceVersion, gone, failure);
    }

    private void Resync()
    {
        foreach (var key in _cache.Keys)
        {
            Changed?.Invoke(key);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var exponent = Math.Min(failures - 1, 30);
        var ms = Math.Min(_options.InitialBackoff.TotalMilliseconds * Math.Pow(2, exponent), _options.MaxBackoff.TotalMilliseconds);
        double jitter;
        lock (_random)
        {
            jitter = 0.8 + (0.4 * _random.NextDouble());
        }

        return TimeSpan.FromMilliseconds(ms * jitter);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Watch of {Kind} from resourceVersion {ResourceVersion} is too old (410); listing again")]
    private static partial void LogGone(ILogger logger, string kind, string resourceVersion);

    [LoggerMessage(Level = LogLevel.Warning, Message = "List or watch of {Kind} failed; retrying in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, string kind, double delayMs, Exception exception);
}
