using System.Net;
using Broker.Cluster.Network;
using Microsoft.Extensions.Logging;

namespace Broker.Cluster.Replication;

/// <summary>
/// Kafka's ReplicaFetcherManager: one <see cref="ReplicaFetcher"/> per (leader broker, fetcher index), each partition
/// hashed onto one of num.replica.fetchers fetchers of its leader. A partition that changes leader or epoch moves to
/// a fresh state on the right fetcher. Thread-safe.
/// </summary>
public sealed class ReplicaFetcherManager : IFollowerFetching, IAsyncDisposable
{
    private readonly ReplicaFetcherOptions _options;
    private readonly Func<int, int, IKafkaRequestSender> _connect;
    private readonly Func<long> _brokerEpoch;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Lock _lock = new();
    private readonly Dictionary<(int LeaderId, int Index), ReplicaFetcher> _fetchers = [];
    private readonly Dictionary<(Guid TopicId, int Partition), ReplicaFetcher> _owner = [];
    private bool _stopped;

    /// <param name="resolveBroker">A broker's inter-broker endpoint in the current metadata image, or null.</param>
    /// <param name="brokerEpoch">This broker's epoch from its registration (sent in every fetch).</param>
    public ReplicaFetcherManager(ReplicaFetcherOptions options, Func<int, EndPoint?> resolveBroker, Func<long> brokerEpoch, TimeProvider time,
        ILoggerFactory loggerFactory)
        : this(options, (leaderId, index) => Connect(options, leaderId, index, resolveBroker, time, loggerFactory), brokerEpoch, time, loggerFactory)
    {
    }

    /// <param name="connect">Opens the connection a new fetcher (leader id, fetcher index) uses; the fetcher disposes it.</param>
    public ReplicaFetcherManager(ReplicaFetcherOptions options, Func<int, int, IKafkaRequestSender> connect, Func<long> brokerEpoch, TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _connect = connect;
        _brokerEpoch = brokerEpoch;
        _time = time;
        _loggerFactory = loggerFactory;
    }

    private static KafkaClientConnection Connect(ReplicaFetcherOptions options, int leaderId, int index, Func<int, EndPoint?> resolveBroker,
        TimeProvider time, ILoggerFactory loggerFactory) =>
        new(() => resolveBroker(leaderId),
            // The fetcher owns its connection and awaits one fetch at a time: it applies each response on the read loop.
            new KafkaClientOptions($"broker-{options.NodeId}-fetcher-{index}", options.RequestTimeoutMs, options.ReconnectBackoffMs, options.ReconnectBackoffMaxMs,
                ContinueOnReader: true),
            time, new Random(HashCode.Combine(options.NodeId, leaderId, index)), loggerFactory.CreateLogger<KafkaClientConnection>());

    /// <summary>The fetch loops running now (for tests and metrics).</summary>
    public IReadOnlyList<ReplicaFetcher> Fetchers
    {
        get
        {
            lock (_lock)
            {
                return [.. _fetchers.Values];
            }
        }
    }

    /// <summary>Kafka's getFetcherId: the partition's fetcher among its leader's num.replica.fetchers.</summary>
    public static int FetcherIndexFor(Guid topicId, int partition, int numFetchers) =>
        (int)((uint)((31 * topicId.GetHashCode()) + partition) % (uint)Math.Max(1, numFetchers));

    public void Follow(IReadOnlyList<FollowerAssignment> assignments)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            foreach (var (partition, leaderId, leaderEpoch) in assignments)
            {
                var key = (partition.TopicId, partition.Index);
                var fetcherKey = (leaderId, FetcherIndexFor(partition.TopicId, partition.Index, _options.NumFetchers));
                if (_owner.TryGetValue(key, out var previous) && (previous.LeaderId, previous.FetcherIndex) != fetcherKey)
                {
                    previous.Remove(partition);
                }

                if (!_fetchers.TryGetValue(fetcherKey, out var fetcher))
                {
                    fetcher = new ReplicaFetcher(leaderId, fetcherKey.Item2, _options, _connect(leaderId, fetcherKey.Item2), _brokerEpoch, _time,
                        _loggerFactory.CreateLogger<ReplicaFetcher>());
                    _fetchers[fetcherKey] = fetcher;
                    fetcher.Start();
                }

                fetcher.Add(new FollowerFetchState(partition, leaderId, leaderEpoch));
                _owner[key] = fetcher;
            }
        }
    }

    public void Unfollow(IReadOnlyList<Partition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        lock (_lock)
        {
            foreach (var partition in partitions)
            {
                if (_owner.Remove((partition.TopicId, partition.Index), out var fetcher))
                {
                    fetcher.Remove(partition);
                }
            }
        }
    }

    /// <summary>Stops every fetch loop (first step of a clean shutdown: no follower append after this).</summary>
    public async ValueTask DisposeAsync()
    {
        ReplicaFetcher[] fetchers;
        lock (_lock)
        {
            _stopped = true;
            fetchers = [.. _fetchers.Values];
            _fetchers.Clear();
            _owner.Clear();
        }

        foreach (var fetcher in fetchers)
        {
            await fetcher.DisposeAsync().ConfigureAwait(false);
        }
    }
}
