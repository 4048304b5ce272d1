using System.Globalization;
using System.Text.Json.Nodes;
using Kube.ApiServer.Api;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Selectors;
using Kube.ApiServer.Table;
using Microsoft.AspNetCore.Http;

namespace Kube.ApiServer.Http;

/// <summary>
/// Serves <c>?watch=true</c>: newline-delimited watch events in resourceVersion order, resumable from a
/// resourceVersion, 410 Expired as an ERROR event for a compacted one, BOOKMARK events when asked.
/// Thread-safe: each stream owns its own subscription.
/// </summary>
internal sealed class WatchStreamer
{
    private readonly ResourceService _service;
    private readonly TableConverter _table;
    private readonly TimeProvider _time;
    private readonly TimeSpan _bookmarkInterval;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<CancellationTokenSource, byte> _open = new();

    public WatchStreamer(ResourceService service, TableConverter table, TimeProvider time, TimeSpan bookmarkInterval)
    {
        _service = service;
        _table = table;
        _time = time;
        _bookmarkInterval = bookmarkInterval;
    }

    public async Task StreamAsync(HttpContext ctx, ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, IQueryCollection q, CancellationToken ct)
    {
        var rvText = (string?)q["resourceVersion"];
        long? fromRv = null;
        if (!string.IsNullOrEmpty(rvText) && rvText != "0")
        {
            if (!long.TryParse(rvText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw ApiError.BadRequest($"invalid resource version: {rvText}");
            }
            fromRv = parsed;
        }
        var asTable = TableConverter.Wants(ctx.Request.Headers.Accept);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = asTable ? TableConverter.ContentType : "application/json";
        using var sub = _service.Store.Subscribe(type.StorageKey, fromRv, out var compacted);
        if (sub is null)
        {
            var status = ApiError.Gone($"too old resource version: {fromRv} ({compacted + 1})").ToStatus();
            await WriteEventAsync(ctx, "ERROR", status, ct).ConfigureAwait(false);
            return;
        }
        await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _open.TryAdd(timeout, 0);
        using var forget = new Unregister(_open, timeout);
        if (q.TryGetValue("timeoutSeconds", out var ts) && int.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        }
        var token = timeout.Token;
        var bookmarks = ApiHandler.IsTrue(q["allowWatchBookmarks"]);
        using var timer = bookmarks ? new PeriodicTimer(_bookmarkInterval, _time) : null;
        Task<bool>? tick = null;
        Task<bool>? ready = null;
        long lastRv = fromRv ?? 0;
        try
        {
            while (!token.IsCancellationRequested)
            {
                ready ??= sub.Reader.WaitToReadAsync(token).AsTask();
                if (timer is not null)
                {
                    tick ??= timer.WaitForNextTickAsync(token).AsTask();
                }
                var done = tick is null ? ready : await Task.WhenAny(ready, tick).ConfigureAwait(false);
                if (done == ready)
                {
                    if (!await ready.ConfigureAwait(false))
                    {
                        return;
                    }
                    ready = null;
                    while (sub.Reader.TryRead(out var e))
                    {
                        lastRv = e.ResourceVersion;
                        if (ns is not null && e.Namespace != ns)
                        {
                            continue;
                        }
                        var (eventType, obj) = Filter(e, labels, fields);
                        if (obj is null)
                        {
                            continue;
                        }
                        obj["apiVersion"] = type.GroupVersion;
                        JsonNode payload = asTable ? _table.Convert(type, [obj], e.ResourceVersion.ToString(CultureInfo.InvariantCulture), q["includeObject"] == "Object") : obj;
                        await WriteEventAsync(ctx, eventType, payload, token).ConfigureAwait(false);
                    }
                }
                else
                {
                    tick = null;
                    // Read the store's version first: once the queue is then seen empty, every event up to it was sent.
                    var current = _service.Store.CurrentResourceVersion;
                    if (!sub.Reader.TryPeek(out _))
                    {
                        lastRv = Math.Max(lastRv, current);
                        var bookmark = new JsonObject
                        {
                            ["kind"] = type.Kind,
                            ["apiVersion"] = type.GroupVersion,
                            ["metadata"] = new JsonObject { ["resourceVersion"] = lastRv.ToString(CultureInfo.InvariantCulture) },
                        };
                        await WriteEventAsync(ctx, "BOOKMARK", bookmark, token).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Client went away or timeoutSeconds elapsed: the stream simply ends, as the apiserver's does.
        }
    }

    /// <summary>
    /// The event a selector-filtered watcher sees, as the apiserver's watch cache computes it: an object
    /// that starts matching is ADDED, one that stops matching is DELETED (its previous state at the
    /// event's resourceVersion); null when neither state matches.
    /// </summary>
    internal static (string Type, JsonObject? Object) Filter(Storage.WatchEvent e, LabelSelector labels, FieldSelector fields)
    {
        static bool Passes(JsonObject o, LabelSelector l, FieldSelector f) => l.Matches(o["metadata"]?["labels"] as JsonObject) && f.Matches(o);
        var current = e.ParseObject();
        var now = Passes(current, labels, fields);
        if (e.Type != "MODIFIED" || e.ParsePrevious() is not { } previous)
        {
            return now ? (e.Type, current) : ("", null);
        }
        var before = Passes(previous, labels, fields);
        switch (now, before)
        {
            case (true, true):
                return ("MODIFIED", current);
            case (true, false):
                return ("ADDED", current);
            case (false, true):
                previous["metadata"]!["resourceVersion"] = e.ResourceVersion.ToString(CultureInfo.InvariantCulture);
                return ("DELETED", previous);
            default:
                return ("", null);
        }
    }

    private static async Task WriteEventAsync(HttpContext ctx, string type, JsonNode obj, CancellationToken ct)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString(JsonOptions.Compact) + "\n";
        await ctx.Response.WriteAsync(line, ct).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Ends every open watch stream, as an apiserver restart or its own watch timeout would.</summary>
    public void DisconnectAll()
    {
        foreach (var stream in _open.Keys)
        {
            try
            {
                stream.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The stream ended on its own meanwhile.
            }
        }
    }

    private sealed class Unregister(System.Collections.Concurrent.ConcurrentDictionary<CancellationTokenSource, byte> open, CancellationTokenSource stream) : IDisposable
    {
        public void Dispose() => open.TryRemove(stream, out _);
    }
}
