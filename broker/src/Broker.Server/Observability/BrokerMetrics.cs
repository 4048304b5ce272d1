using System.Collections.Concurrent;
using System.Globalization;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Coordinators.Groups;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Prometheus;

namespace Broker.Server.Observability;

/// <summary>
/// The broker's Prometheus metrics, named as Strimzi's JMX exporter names Kafka's MBeans (docs/metrics.md), in a
/// registry of its own so several brokers can share a process. Counters and the request-latency histogram are
/// updated on the request path through children created once (per topic, per API key), so recording allocates
/// nothing; gauges (partitions, log sizes, connections) are computed when scraped. Thread-safe.
/// </summary>
internal sealed class BrokerMetrics
{
    // Milliseconds, as Kafka's RequestMetrics TotalTimeMs; the top buckets cover parked fetches.
    private static readonly double[] LatencyBucketsMs = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly TimeProvider _time;
    private readonly Counter _messagesIn;
    private readonly Counter _bytesIn;
    private readonly Counter _bytesOut;
    private readonly Counter _produceRequests;
    private readonly Counter _fetchRequests;
    private readonly Histogram _requestTime;
    private readonly Gauge _partitionCount;
    private readonly Gauge _leaderCount;
    private readonly Gauge _underReplicated;
    private readonly Gauge _offline;
    private readonly Gauge _activeController;
    private readonly Gauge _globalTopics;
    private readonly Gauge _globalPartitions;
    private readonly Gauge _activeBrokers;
    private readonly Gauge _fencedBrokers;
    private readonly Gauge _logSize;
    private readonly Gauge _connections;
    private readonly Gauge _consumerLag;
    private HashSet<(string Group, string Topic, int Partition)> _publishedLags = [];
    private HashSet<(string Group, string Topic, int Partition)> _currentLags = [];
    private volatile GroupCoordinator? _groups;
    private readonly ConcurrentDictionary<string, TopicMeters> _topics = new(StringComparer.Ordinal);

    // Scrape-time state, guarded by _collectLock (two scrapes may overlap).
    private readonly Lock _collectLock = new();
    private HashSet<(string Topic, int Partition)> _publishedSizes = [];
    private HashSet<(string Topic, int Partition)> _currentSizes = [];
    private readonly HashSet<string> _liveTopics = new(StringComparer.Ordinal);

    private volatile Histogram.Child?[] _requestTimeByApi = [];
    private volatile ReplicaManager? _replicas;
    private volatile Func<int>? _connectionCount;
    private volatile Func<bool>? _isActiveController;
    private volatile IMetadataStore? _metadata;

    public BrokerMetrics(TimeProvider time)
    {
        _time = time;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        string[] topic = ["topic"];
        _messagesIn = factory.CreateCounter("kafka_server_brokertopicmetrics_messagesin_total", "Records appended to the topic's partitions on this broker.", topic);
        _bytesIn = factory.CreateCounter("kafka_server_brokertopicmetrics_bytesin_total", "Record batch bytes received from producers for the topic.", topic);
        _bytesOut = factory.CreateCounter("kafka_server_brokertopicmetrics_bytesout_total", "Record bytes returned to fetchers of the topic.", topic);
        _produceRequests = factory.CreateCounter("kafka_server_brokertopicmetrics_totalproducerequests_total", "Produce requests for the topic, counted per partition in a request.", topic);
        _fetchRequests = factory.CreateCounter("kafka_server_brokertopicmetrics_totalfetchrequests_total", "Fetch requests for the topic, counted per partition in a request.", topic);
        _requestTime = factory.CreateHistogram("kafka_network_requestmetrics_totaltimems", "Time from a request's arrival to its response, in milliseconds, per API.", ["request"],
            new HistogramConfiguration { Buckets = LatencyBucketsMs });
        _partitionCount = factory.CreateGauge("kafka_server_replicamanager_partitioncount", "Partitions hosted by this broker.");
        _leaderCount = factory.CreateGauge("kafka_server_replicamanager_leadercount", "Partitions this broker leads.");
        _underReplicated = factory.CreateGauge("kafka_server_replicamanager_underreplicatedpartitions", "Led partitions whose ISR is smaller than their replica set.");
        _offline = factory.CreateGauge("kafka_controller_kafkacontroller_offlinepartitionscount", "On the active controller: partitions without a leader.");
        _activeController = factory.CreateGauge("kafka_controller_kafkacontroller_activecontrollercount", "1 on the active controller (the metadata quorum's leader), else 0.");
        _globalTopics = factory.CreateGauge("kafka_controller_kafkacontroller_globaltopiccount", "On the active controller: topics in the cluster.");
        _globalPartitions = factory.CreateGauge("kafka_controller_kafkacontroller_globalpartitioncount", "On the active controller: partitions in the cluster.");
        _activeBrokers = factory.CreateGauge("kafka_controller_kafkacontroller_activebrokercount", "On the active controller: registered brokers not fenced.");
        _fencedBrokers = factory.CreateGauge("kafka_controller_kafkacontroller_fencedbrokercount", "On the active controller: registered brokers fenced.");
        _logSize = factory.CreateGauge("kafka_log_log_size", "Bytes of all segments of the partition's log.", ["topic", "partition"]);
        _connections = factory.CreateGauge("kafka_server_socketservermetrics_connection_count", "Open client connections across all listeners.");
        _consumerLag = factory.CreateGauge("kafka_consumergroup_lag", "High watermark minus the group's committed offset, per partition led here.", ["group", "topic", "partition"]);
        Registry.AddBeforeCollectCallback(UpdateGauges);
    }

    /// <summary>The registry served on /metrics.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>
    /// Connects the scrape-time gauges and per-API histograms to the running broker, once its parts exist (the
    /// registry is served from before log recovery, when they do not).
    /// </summary>
    public void Attach(RequestDispatcher dispatcher, ReplicaManager replicas, Func<int> connectionCount)
    {
        var byApi = new Histogram.Child?[dispatcher.Handlers[^1].ApiKey + 1];
        foreach (var handler in dispatcher.Handlers)
        {
            byApi[handler.ApiKey] = _requestTime.WithLabels(((ApiKey)handler.ApiKey).ToString());
        }

        _requestTimeByApi = byApi;
        _replicas = replicas;
        _connectionCount = connectionCount;
    }

    /// <summary>
    /// Connects the controller gauges: while <paramref name="isActiveController"/> holds they describe the cluster's
    /// metadata image, on any other node they are 0 (so a sum over the cluster counts each once).
    /// </summary>
    public void AttachController(Func<bool> isActiveController, IMetadataStore metadata)
    {
        _metadata = metadata;
        _isActiveController = isActiveController;
    }

    /// <summary>Connects the consumer lag gauge to the group coordinator.</summary>
    public void AttachGroups(GroupCoordinator groups) => _groups = groups;

    /// <summary>The per-topic counters, created on first use. Lock-free and allocation-free once created.</summary>
    public TopicMeters Topic(string topic) =>
        _topics.TryGetValue(topic, out var meters) ? meters : _topics.GetOrAdd(topic, static (name, self) => new TopicMeters(self, name), this);

    /// <summary>A timestamp to pass to <see cref="RequestCompleted"/>.</summary>
    public long RequestStarted() => _time.GetTimestamp();

    public void RequestCompleted(short apiKey, long startedTimestamp)
    {
        var byApi = _requestTimeByApi;
        if ((uint)apiKey < (uint)byApi.Length && byApi[apiKey] is { } child)
        {
            child.Observe(_time.GetElapsedTime(startedTimestamp).TotalMilliseconds);
        }
    }

    private void UpdateGauges()
    {
        lock (_collectLock)
        {
            _connections.Set(_connectionCount?.Invoke() ?? 0);
            _underReplicated.Set(0);
            UpdateControllerGauges();
            if (_replicas is not { } replicas)
            {
                return;
            }

            var partitions = 0;
            var leaders = 0;
            var underReplicated = 0;
            _currentSizes.Clear();
            _liveTopics.Clear();
            foreach (var partition in replicas.All())
            {
                partitions++;
                if (partition.IsLeader)
                {
                    leaders++;
                    if (partition.Replicas is { } set && set.Isr.Count < set.AssignedReplicas.Count)
                    {
                        underReplicated++;
                    }
                }

                _liveTopics.Add(partition.Topic);
                _currentSizes.Add((partition.Topic, partition.Index));
                _logSize.WithLabels(partition.Topic, partition.Index.ToString(CultureInfo.InvariantCulture)).Set(partition.Log.SizeInBytes);
            }

            foreach (var (topic, index) in _publishedSizes)
            {
                if (!_currentSizes.Contains((topic, index)))
                {
                    _logSize.RemoveLabelled(topic, index.ToString(CultureInfo.InvariantCulture));
                }
            }

            (_publishedSizes, _currentSizes) = (_currentSizes, _publishedSizes);
            _partitionCount.Set(partitions);
            _leaderCount.Set(leaders);
            _underReplicated.Set(underReplicated);
            RemoveDeletedTopics(replicas);
            UpdateLag(replicas);
        }
    }

    private void UpdateControllerGauges()
    {
        var active = _isActiveController?.Invoke() == true && _metadata is not null;
        var image = active ? _metadata!.Image : null;
        var partitions = 0;
        var offline = 0;
        foreach (var topic in image?.TopicsByName.Values ?? [])
        {
            partitions += topic.Partitions.Length;
            foreach (var partition in topic.Partitions)
            {
                offline += partition.Leader < 0 ? 1 : 0;
            }
        }

        var fenced = image?.Brokers.Values.Count(b => b.Fenced) ?? 0;
        _activeController.Set(active ? 1 : 0);
        _globalTopics.Set(image?.TopicsByName.Count ?? 0);
        _globalPartitions.Set(partitions);
        _offline.Set(offline);
        _activeBrokers.Set((image?.Brokers.Count ?? 0) - fenced);
        _fencedBrokers.Set(fenced);
    }

    // Lag is computed at scrape time from committed offsets and the high watermark; stale series are removed.
    private void UpdateLag(ReplicaManager replicas)
    {
        _currentLags.Clear();
        if (_groups is { } groups)
        {
            foreach (var (group, topic, index, offset) in groups.CommittedOffsets())
            {
                if (replicas.Get(topic, index) is { IsLeader: true } partition)
                {
                    _currentLags.Add((group, topic, index));
                    _consumerLag.WithLabels(group, topic, index.ToString(CultureInfo.InvariantCulture)).Set(Math.Max(0, partition.Log.HighWatermark - offset));
                }
            }
        }

        foreach (var (group, topic, index) in _publishedLags)
        {
            if (!_currentLags.Contains((group, topic, index)))
            {
                _consumerLag.RemoveLabelled(group, topic, index.ToString(CultureInfo.InvariantCulture));
            }
        }

        (_publishedLags, _currentLags) = (_currentLags, _publishedLags);
    }

    // Kafka drops a topic's metrics when the topic is deleted. Hosted topics are read again after the meter keys, so
    // meters just created for a topic that appeared after the first pass are kept.
    private void RemoveDeletedTopics(ReplicaManager replicas)
    {
        List<string>? candidates = null;
        foreach (var (topic, _) in _topics)
        {
            if (!_liveTopics.Contains(topic))
            {
                (candidates ??= []).Add(topic);
            }
        }

        if (candidates is null)
        {
            return;
        }

        _liveTopics.Clear();
        foreach (var partition in replicas.All())
        {
            _liveTopics.Add(partition.Topic);
        }

        foreach (var topic in candidates)
        {
            if (!_liveTopics.Contains(topic) && _topics.TryRemove(topic, out _))
            {
                _messagesIn.RemoveLabelled(topic);
                _bytesIn.RemoveLabelled(topic);
                _bytesOut.RemoveLabelled(topic);
                _produceRequests.RemoveLabelled(topic);
                _fetchRequests.RemoveLabelled(topic);
            }
        }
    }

    /// <summary>One topic's counters, resolved once. Thread-safe.</summary>
    internal sealed class TopicMeters
    {
        internal TopicMeters(BrokerMetrics metrics, string topic)
        {
            MessagesIn = metrics._messagesIn.WithLabels(topic);
            BytesIn = metrics._bytesIn.WithLabels(topic);
            BytesOut = metrics._bytesOut.WithLabels(topic);
            ProduceRequests = metrics._produceRequests.WithLabels(topic);
            FetchRequests = metrics._fetchRequests.WithLabels(topic);
        }

        public Counter.Child MessagesIn { get; }

        public Counter.Child BytesIn { get; }

        public Counter.Child BytesOut { get; }

        public Counter.Child ProduceRequests { get; }

        public Counter.Child FetchRequests { get; }
    }
}
