using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Coordinators.Groups;
using Broker.Coordinators.Transactions;
using Broker.Server.Configuration;
using Broker.Server.Observability;
using Broker.Server.Raft;
using Broker.Storage;

namespace Broker.Server;

/// <summary>Broker-level settings the request handlers need, resolved from server.properties. Immutable.</summary>
/// <param name="ReplicaSelector">replica.selector.class: null when consumers read from leaders only.</param>
internal sealed record ServerOptions(
    int NodeId,
    bool AutoCreateTopicsEnable,
    int MaxFetchBytes,
    IReplicaSelector? ReplicaSelector = null);

/// <summary>
/// The domain services handlers call: metadata image, topic controller, local partitions, the clock and metrics.
/// Built once by <see cref="BrokerHost"/>. Thread-safe (every member is).
/// </summary>
internal sealed class BrokerServices
{
    public BrokerServices(ServerOptions options, BrokerConfig config, IMetadataStore metadata, TopicController topics, ReplicaManager replicas, TimeProvider time, BrokerMetrics metrics)
    {
        Options = options;
        Config = config;
        Metadata = metadata;
        Topics = topics;
        Replicas = replicas;
        Time = time;
        Metrics = metrics;
    }

    public ServerOptions Options { get; }

    /// <summary>The static configuration, for DescribeConfigs.</summary>
    public BrokerConfig Config { get; }

    public IMetadataStore Metadata { get; }

    public TopicController Topics { get; }

    public ReplicaManager Replicas { get; }

    /// <summary>Producer ids for InitProducerId.</summary>
    public required ProducerIdManager ProducerIds { get; init; }

    public TimeProvider Time { get; }

    /// <summary>Per-topic traffic counters the handlers update.</summary>
    public BrokerMetrics Metrics { get; }
    /// <summary>The partition logs on this broker's log dirs (DescribeLogDirs, checkpoints after DeleteRecords).</summary>
    public required LogManager Logs { get; init; }

    /// <summary>Alter(Incremental)Configs: commits topic and broker ConfigRecords.</summary>
    public required ConfigController Configs { get; init; }

    /// <summary>Topic defaults in force (static broker config plus dynamic broker configs of the current image).</summary>
    public required EffectiveTopicDefaults TopicDefaults { get; init; }

    /// <summary>Consumer groups and committed offsets (classic protocol).</summary>
    public required GroupCoordinator Groups { get; init; }

    /// <summary>FindCoordinator for transactional ids.</summary>
    public required TransactionCoordinatorLocator Transactions { get; init; }

    /// <summary>Broker registration, heartbeats, fencing and unregistration at the controller.</summary>
    public required BrokerLifecycle BrokerLifecycle { get; init; }

    /// <summary>ElectLeaders and the periodic leader-imbalance rebalance.</summary>
    public required LeaderElections Elections { get; init; }

    /// <summary>Alter/ListPartitionReassignments.</summary>
    public required ReassignmentController Reassignments { get; init; }

    /// <summary>The network-bound Raft quorum when controller.quorum.voters is set; null for a single-node metadata log.</summary>
    public RaftNetworkDriver? Quorum { get; init; }

    /// <summary>The leader and follower replication throttles (kept in step with the metadata image).</summary>
    public ReplicationQuotas ReplicationQuotas { get; init; } = new();

    /// <summary>
    /// The controller id a broker listener tells clients (Metadata, DescribeCluster): -1 while no quorum leader is known;
    /// the quorum leader when it is also a live broker (combined roles); else this broker, which forwards what clients
    /// send it, as Kafka answers a live broker in place of a controller clients cannot reach. Without a quorum, this node.
    /// </summary>
    public int ControllerId
    {
        get
        {
            if (Quorum is not { } quorum)
            {
                return Options.NodeId;
            }

            var leader = quorum.LeaderId;
            if (leader < 0)
            {
                return -1;
            }

            return Metadata.Image.Brokers.TryGetValue(leader, out var broker) && !broker.Fenced ? leader : Options.NodeId;
        }
    }
}
