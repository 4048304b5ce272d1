using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Kube.ApiServer.Storage;

/// <summary>
/// The whole cluster state: objects as JSON keyed by (group/plural, namespace, name), a single
/// monotonically increasing resourceVersion, and a bounded history of committed events for watches.
/// Thread-safe: every read and write runs under one lock, so transactions are serialisable and events
/// are delivered to every subscriber in resourceVersion order with none lost.
/// </summary>
internal sealed class ObjectStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _data = new(StringComparer.Ordinal);
    private readonly Queue<WatchEvent> _history = new();
    private readonly List<Subscription> _subscriptions = [];
    private readonly int _historyCapacity;
    private long _rv;
    private long _compactedRv;

    public ObjectStore(int historyCapacity, long initialResourceVersion = 1000)
    {
        _historyCapacity = historyCapacity;
        _rv = initialResourceVersion;
        _compactedRv = initialResourceVersion;
    }

    public long CurrentResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _rv;
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> atomically; its writes commit and notify watchers when it returns.</summary>
    public T Transact<T>(Func<Transaction, T> action)
    {
        lock (_gate)
        {
            var txn = new Transaction(this);
            var result = action(txn);
            foreach (var e in txn.Events)
            {
                _history.Enqueue(e);
                while (_history.Count > _historyCapacity)
                {
                    _compactedRv = _history.Dequeue().ResourceVersion;
                }
                foreach (var s in _subscriptions)
                {
                    if (s.StorageKey is null || s.StorageKey == e.StorageKey)
                    {
                        s.Writer.TryWrite(e);
                    }
                }
            }
            return result;
        }
    }

    /// <summary>Drops the oldest events so that the history starts after <paramref name="rv"/>, as etcd compaction does.</summary>
    public void CompactThrough(long rv)
    {
        lock (_gate)
        {
            while (_history.Count > 0 && _history.Peek().ResourceVersion <= rv)
            {
                _history.Dequeue();
            }
            _compactedRv = Math.Max(_compactedRv, Math.Min(rv, _rv));
        }
    }

    /// <summary>
    /// Subscribes to changes of one resource (or all when <paramref name="storageKey"/> is null).
    /// With <paramref name="fromRv"/> null, the current objects are first replayed as ADDED; otherwise
    /// every retained event after it is replayed. Returns null when <paramref name="fromRv"/> is compacted.
    /// </summary>
    public Subscription? Subscribe(string? storageKey, long? fromRv, out long compactedRv)
    {
        lock (_gate)
        {
            compactedRv = _compactedRv;
            var sub = new Subscription(this, storageKey);
            if (fromRv is null)
            {
                foreach (var (key, objects) in _data)
                {
                    if (storageKey is not null && key != storageKey)
                    {
                        continue;
                    }
                    foreach (var (nsName, obj) in objects)
                    {
                        var (ns, name) = Transaction.SplitKey(nsName);
                        sub.Writer.TryWrite(new WatchEvent("ADDED", key, ns, name, Transaction.ResourceVersionOf(obj), obj.ToJsonString(JsonOptions.Compact)));
                    }
                }
            }
            else
            {
                if (fromRv.Value < _compactedRv)
                {
                    return null;
                }
                foreach (var e in _history)
                {
                    if (e.ResourceVersion > fromRv.Value && (storageKey is null || e.StorageKey == storageKey))
                    {
                        sub.Writer.TryWrite(e);
                    }
                }
            }
            _subscriptions.Add(sub);
            return sub;
        }
    }

    internal void Unsubscribe(Subscription sub)
    {
        lock (_gate)
        {
            _subscriptions.Remove(sub);
        }
        sub.Writer.TryComplete();
    }

    /// <summary>
    /// A handle on the store's maps valid only inside <see cref="Transact{T}"/>. Returned objects are
    /// copies; stored objects are never handed out. Owned by the transaction's thread.
    /// </summary>
    internal sealed class Transaction
    {
        private readonly ObjectStore _store;

        public Transaction(ObjectStore store) => _store = store;

        public List<WatchEvent> Events { get; } = [];

        public long CurrentResourceVersion => _store._rv;

        public JsonObject? Get(string storageKey, string ns, string name) =>
            _store._data.TryGetValue(storageKey, out var map) && map.TryGetValue(Key(ns, name), out var obj)
                ? (JsonObject)obj.DeepClone()
                : null;

        /// <summary>Copies of the objects of one resource, optionally in one namespace, ordered by namespace and name.</summary>
        public List<JsonObject> List(string storageKey, string? ns)
        {
            var result = new List<JsonObject>();
            if (!_store._data.TryGetValue(storageKey, out var map))
            {
                return result;
            }
            foreach (var (key, obj) in map)
            {
                if (ns is null || SplitKey(key).Namespace == ns)
                {
                    result.Add((JsonObject)obj.DeepClone());
                }
            }
            return result;
        }

        /// <summary>Every stored object of every resource (for the garbage collector).</summary>
        public IEnumerable<(string StorageKey, JsonObject Object)> All()
        {
            foreach (var (key, map) in _store._data)
            {
                foreach (var obj in map.Values)
                {
                    yield return (key, obj);
                }
            }
        }

        /// <summary>Stores <paramref name="obj"/> (its resourceVersion set to a new one) and returns a copy.</summary>
        public JsonObject Put(string storageKey, string ns, string name, JsonObject obj)
        {
            var rv = ++_store._rv;
            var meta = obj["metadata"] as JsonObject ?? new JsonObject();
            obj["metadata"] = meta;
            meta["resourceVersion"] = rv.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!_store._data.TryGetValue(storageKey, out var map))
            {
                map = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
                _store._data[storageKey] = map;
            }
            var key = Key(ns, name);
            var previous = map.TryGetValue(key, out var prev) ? prev.ToJsonString(JsonOptions.Compact) : null;
            var stored = (JsonObject)obj.DeepClone();
            map[key] = stored;
            Events.Add(new WatchEvent(previous is null ? "ADDED" : "MODIFIED", storageKey, ns, name, rv, stored.ToJsonString(JsonOptions.Compact), previous));
            return (JsonObject)stored.DeepClone();
        }

        /// <summary>Removes an object; the DELETED event carries its last state with a new resourceVersion.</summary>
        public JsonObject? Remove(string storageKey, string ns, string name)
        {
            if (!_store._data.TryGetValue(storageKey, out var map) || !map.Remove(Key(ns, name), out var obj))
            {
                return null;
            }
            var rv = ++_store._rv;
            obj["metadata"]!["resourceVersion"] = rv.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Events.Add(new WatchEvent("DELETED", storageKey, ns, name, rv, obj.ToJsonString(JsonOptions.Compact)));
            return obj;
        }

        internal static string Key(string ns, string name) => ns + "/" + name;

        internal static (string Namespace, string Name) SplitKey(string key)
        {
            var i = key.IndexOf('/', StringComparison.Ordinal);
            return (key[..i], key[(i + 1)..]);
        }

        internal static long ResourceVersionOf(JsonObject obj) =>
            long.Parse(obj["metadata"]?["resourceVersion"]?.GetValue<string>() ?? "0", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A watcher's queue of events in commit order. Read by one consumer; written under the store lock.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly ObjectStore _store;
        private readonly Channel<WatchEvent> _channel = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = true });

        public Subscription(ObjectStore store, string? storageKey)
        {
            _store = store;
            StorageKey = storageKey;
        }

        public string? StorageKey { get; }
        internal ChannelWriter<WatchEvent> Writer => _channel.Writer;
        public ChannelReader<WatchEvent> Reader => _channel.Reader;

        public void Dispose() => _store.Unsubscribe(this);
    }
}
