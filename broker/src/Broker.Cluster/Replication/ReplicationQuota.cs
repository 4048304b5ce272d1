using System.Collections.Frozen;
using System.Globalization;

namespace Broker.Cluster.Replication;

/// <summary>
/// One side of Kafka's replication throttle (ReplicationQuotaManager): the byte rate of throttled partitions' replication
/// traffic, measured over <c>replication.quota.window.num</c> windows of <c>replication.quota.window.size.seconds</c>, against
/// <c>leader.replication.throttled.rate</c> or <c>follower.replication.throttled.rate</c>, and which partitions are
/// throttled on this broker (the <c>*.replication.throttled.replicas</c> topic configs). As in Kafka, only replicas out of
/// the ISR are ever held back, but the traffic of every throttled partition counts. Thread-safe.
/// </summary>
public sealed class ReplicationQuota
{
    /// <summary>No limit: Kafka's default rate, Long.MAX_VALUE.</summary>
    public const long Unlimited = long.MaxValue;

    private readonly Lock _lock = new();
    private readonly long[] _sampleBytes;
    private readonly long[] _sampleStartMs;
    private readonly long _windowMs;
    private int _current = -1;
    private long _bound = Unlimited;
    private FrozenDictionary<string, ThrottledPartitions> _throttled = FrozenDictionary<string, ThrottledPartitions>.Empty;

    /// <param name="samples">replication.quota.window.num (Kafka's default 11).</param>
    /// <param name="windowMs">replication.quota.window.size.seconds in milliseconds (Kafka's default 1 s).</param>
    public ReplicationQuota(int samples = 11, long windowMs = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowMs, 1);
        _sampleBytes = new long[samples];
        _sampleStartMs = new long[samples];
        _windowMs = windowMs;
    }

    /// <summary>The throttled rate in bytes per second; <see cref="Unlimited"/> when unset.</summary>
    public long Bound => Volatile.Read(ref _bound);

    public void UpdateBound(long bytesPerSecond) => Volatile.Write(ref _bound, bytesPerSecond < 0 ? Unlimited : bytesPerSecond);

    /// <summary>
    /// Sets the throttled partitions from each topic's config value (<c>*</c>, or <c>partition:broker</c> pairs of which
    /// only this broker's count), as Kafka's TopicConfigHandler does. Topics absent from <paramref name="topicValues"/> are
    /// not throttled.
    /// </summary>
    public void UpdateThrottledReplicas(IEnumerable<KeyValuePair<string, string>> topicValues, int nodeId)
    {
        ArgumentNullException.ThrowIfNull(topicValues);
        var throttled = new Dictionary<string, ThrottledPartitions>(StringComparer.Ordinal);
        foreach (var (topic, value) in topicValues)
        {
            if (ThrottledPartitions.Parse(value, nodeId) is { } partitions)
            {
                throttled[topic] = partitions;
            }
        }

        Volatile.Write(ref _throttled, throttled.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>One <c>partitionId:brokerId</c> entry (non-negative decimal ids, spaces around them allowed).</summary>
    public static bool TryParseReplica(string entry, out int partition, out int broker)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        broker = 0;
        partition = 0;
        return colon > 0
            && int.TryParse(entry.AsSpan(0, colon).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out partition)
            && int.TryParse(entry.AsSpan(colon + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out broker);
    }

    /// <summary>Whether replication of the partition is throttled on this broker (whatever the current rate).</summary>
    public bool IsThrottled(string topic, int partition) =>
        Volatile.Read(ref _throttled).TryGetValue(topic, out var partitions) && partitions.Contains(partition);

    /// <summary>True while any topic has throttled partitions here and a bound is set: the cheap check before the others.</summary>
    public bool IsActive => Bound != Unlimited && Volatile.Read(ref _throttled).Count > 0;

    /// <summary>Kafka's checkQuotas: the measured rate is above the bound.</summary>
    public bool IsExceeded(long nowMs)
    {
        var bound = Bound;
        return bound != Unlimited && RateBytesPerSecond(nowMs) > bound;
    }

    /// <summary>Counts <paramref name="bytes"/> of throttled replication traffic at <paramref name="nowMs"/>.</summary>
    public void Record(long bytes, long nowMs)
    {
        lock (_lock)
        {
            if (_current < 0 || nowMs >= _sampleStartMs[_current] + _windowMs)
            {
                _current = (_current + 1) % _sampleBytes.Length;
                _sampleBytes[_current] = 0;
                _sampleStartMs[_current] = nowMs;
            }

            _sampleBytes[_current] += bytes;
        }
    }

    /// <summary>
    /// Kafka's SimpleRate: the bytes of the samples still inside the whole window span, divided by the time since the
    /// oldest of them started (at least one window). 0 with nothing recorded.
    /// </summary>
    public double RateBytesPerSecond(long nowMs)
    {
        lock (_lock)
        {
            if (_current < 0)
            {
                return 0;
            }

            var horizon = nowMs - (_sampleBytes.Length * _windowMs);
            long total = 0;
            var oldest = long.MaxValue;
            for (var i = 0; i < _sampleBytes.Length; i++)
            {
                if (_sampleBytes[i] > 0 && _sampleStartMs[i] > horizon)
                {
                    total += _sampleBytes[i];
                    oldest = Math.Min(oldest, _sampleStartMs[i]);
                }
            }

            return total == 0 ? 0 : total * 1000.0 / Math.Max(nowMs - oldest, _windowMs);
        }
    }

    /// <summary>The partitions of one topic throttled on this broker: all, or a set. Immutable.</summary>
    private sealed class ThrottledPartitions
    {
        private static readonly ThrottledPartitions All = new(null);
        private readonly FrozenSet<int>? _partitions;

        private ThrottledPartitions(FrozenSet<int>? partitions)
        {
            _partitions = partitions;
        }

        public bool Contains(int partition) => _partitions is null || _partitions.Contains(partition);

        /// <summary>Null when nothing of the value names this broker (or the value is not a valid list: the topic
        /// config was validated when set, so that only happens with data written elsewhere).</summary>
        public static ThrottledPartitions? Parse(string value, int nodeId)
        {
            var trimmed = value.Trim();
            if (trimmed == "*")
            {
                return All;
            }

            var partitions = new HashSet<int>();
            foreach (var entry in trimmed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (ReplicationQuota.TryParseReplica(entry, out var partition, out var broker) && broker == nodeId)
                {
                    partitions.Add(partition);
                }
            }

            return partitions.Count == 0 ? null : new ThrottledPartitions(partitions.ToFrozenSet());
        }
    }
}

/// <summary>The two replication throttles of a broker: reads it serves to followers as leader, fetches it makes as follower.</summary>
public sealed class ReplicationQuotas
{
    public const string LeaderRateKey = "leader.replication.throttled.rate";
    public const string FollowerRateKey = "follower.replication.throttled.rate";
    public const string LeaderReplicasKey = "leader.replication.throttled.replicas";
    public const string FollowerReplicasKey = "follower.replication.throttled.replicas";

    public ReplicationQuotas(int samples = 11, long windowMs = 1000)
    {
        Leader = new ReplicationQuota(samples, windowMs);
        Follower = new ReplicationQuota(samples, windowMs);
    }

    public ReplicationQuota Leader { get; }

    public ReplicationQuota Follower { get; }
}
