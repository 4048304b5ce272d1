using static Broker.Server.Configuration.ConfigNames;
using static Broker.Server.Configuration.ConfigValidator;

namespace Broker.Server.Configuration;

/// <summary>
/// The broker's configuration table: every key it understands, with Kafka's names, types, defaults and
/// validation. Deliberate departures from Kafka: <c>node.id</c> defaults to 1 and <c>process.roles</c> to
/// <c>broker,controller</c> (Kafka requires both) so that a single local node starts without a file, and
/// <c>log.dir</c> defaults to <c>/tmp/kraft-combined-logs</c>. Immutable; thread-safe.
/// </summary>
public static class BrokerConfigDef
{
    private const string IntMax = "2147483647";
    private const string LongMax = "9223372036854775807";

    /// <summary>The single table of broker keys, in documentation order.</summary>
    public static ConfigDef Instance { get; } = new(
    [
        // Node and cluster.
        Int(NodeId, "1", AtLeast(0), "Id of this node, unique across brokers and controllers. Kafka requires it; defaults to 1 here for a single local node."),
        List(ProcessRoles, "broker,controller", ListOf(false, "broker", "controller"), "Roles this node plays: broker, controller, or both (combined mode). Kafka requires it; defaults to combined here."),
        Str(ClusterId, null, null, "Expected cluster id; when set, a log directory formatted for another cluster is refused."),
        Str(BrokerRack, null, null, "Rack of this broker, used for rack-aware replica placement and follower fetching."),

        // Listeners.
        List(Listeners, "PLAINTEXT://:9092", NonEmptyList(), "Comma-separated NAME://host:port endpoints to listen on; an empty host binds every interface."),
        List(AdvertisedListeners, null, null, "Endpoints published to clients in metadata; defaults to the listeners (minus controller listeners), with an empty or wildcard host advertised as 127.0.0.1."),
        List(ListenerSecurityProtocolMap, "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", null, "Maps each listener name to its security protocol, as NAME:PROTOCOL pairs."),
        Str(InterBrokerListenerName, null, null, "Listener used between brokers; defaults to the listener named after security.inter.broker.protocol. Do not set both."),
        Str(SecurityInterBrokerProtocol, "PLAINTEXT", OneOf("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), "Security protocol used between brokers when inter.broker.listener.name is not set."),
        List(ControllerListenerNames, null, null, "Names of the listeners used by the controller quorum."),

        // KRaft quorum.
        List(ControllerQuorumVoters, null, null, "Static quorum voters as id@host:port."),
        List(ControllerQuorumBootstrapServers, null, null, "host:port controller endpoints a broker-only node asks to find the quorum leader (KIP-853); controllers still need controller.quorum.voters."),
        Bool(ControllerQuorumAutoJoinEnable, false, "A controller of a dynamic quorum that is not a voter adds itself with AddRaftVoter (first removing a voter entry of its id with another directory id) instead of waiting for add-controller (KIP-853)."),
        Int(ControllerQuorumElectionTimeoutMs, "1000", AtLeast(1), "Base election timeout; the effective timeout is randomised in [T, 2T)."),
        Int(ControllerQuorumFetchTimeoutMs, "2000", AtLeast(1), "A follower that has not fetched from the leader for this long starts an election."),
        Int(ControllerQuorumElectionBackoffMaxMs, "1000", AtLeast(1), "Upper bound of the randomised backoff before a new election."),
        Int(ControllerQuorumRequestTimeoutMs, "2000", AtLeast(1), "A quorum request without a response this long is given up and may be resent."),
        Int(ControllerQuorumRetryBackoffMs, "20", AtLeast(0), "Pause before resending a quorum request that failed."),
        Int(BrokerHeartbeatIntervalMs, "2000", AtLeast(1), "Interval between broker heartbeats to the controller."),
        Int(BrokerSessionTimeoutMs, "9000", AtLeast(1), "A broker that has not heartbeated for this long is fenced."),
        Int(MetadataMaxIdleIntervalMs, "500", AtLeast(0), "The quorum leader appends a no-op record after this much idle time."),
        Long(MetadataLogMaxRecordBytesBetweenSnapshots, "20971520", AtLeast(1), "Committed metadata log bytes after which each node writes a new metadata snapshot."),
        Long(MetadataLogMaxSnapshotIntervalMs, "3600000", AtLeast(0), "Longest time between metadata snapshots while records are committed; 0 snapshots by size only."),
        Int(MetadataLogSegmentBytes, "1073741824", AtLeast(12), "Segment size of the metadata log; whole segments below its start (the end of the oldest kept snapshot) are deleted."),
        Long(MetadataMaxRetentionBytes, "104857600", null, "Combined size of the metadata log and snapshots above which the oldest snapshot, and the log below the next, are deleted; the latest snapshot always stays, so this is a soft limit. Any negative value means no limit, as in Kafka."),
        Long(MetadataMaxRetentionMs, "604800000", null, "Age (from the timestamp of the last record it covers) above which the oldest metadata snapshot, and the log below the next, are deleted; the latest snapshot always stays. Any negative value means no limit, as in Kafka."),
        Int(MetadataRetentionCheckIntervalMs, "60000", AtLeast(0), "How often the metadata retention limits are applied; 0 applies them at every quorum poll. This broker's own key: Kafka checks every 60 s, the default."),
        Str(MetadataLogDir, null, null, "Directory of the cluster metadata log; defaults to the first log directory."),

        // Network.
        Int(NumNetworkThreads, "3", AtLeast(1), "Threads that read requests and write responses."),
        Int(NumIoThreads, "8", AtLeast(1), "Threads that process requests."),
        Int(QueuedMaxRequests, "500", AtLeast(1), "Requests queued for processing before the network threads stop reading."),
        Long(QueuedMaxRequestBytes, "-1", null, "Bytes of queued requests before reading stops; -1 means no limit."),
        Int(SocketSendBufferBytes, "102400", null, "SO_SNDBUF of accepted sockets; -1 keeps the OS default."),
        Int(SocketReceiveBufferBytes, "102400", null, "SO_RCVBUF of accepted sockets; -1 keeps the OS default."),
        Int(SocketRequestMaxBytes, "104857600", AtLeast(1), "Largest request frame accepted; a larger size prefix closes the connection."),
        Int(SocketListenBacklogSize, "50", AtLeast(1), "Accept backlog of each listening socket."),
        Long(ConnectionsMaxIdleMs, "600000", null, "Idle connections are closed after this long."),
        Int(MaxConnections, IntMax, AtLeast(0), "Connections accepted across all listeners."),
        Int(MaxConnectionsPerIp, IntMax, AtLeast(0), "Connections accepted from one address."),

        // Health and metrics side ports: this broker's own keys (Kafka exposes JMX; Strimzi adds an agent and an exporter).
        Str(HealthHost, "0.0.0.0", null, "Address the HTTP health endpoint (/v1/ready, /v1/broker-state) binds."),
        Int(HealthPort, "8080", Between(-1, 65535), "Port of the HTTP health endpoint; 0 binds an ephemeral port, -1 disables it."),
        Str(MetricsHost, "0.0.0.0", null, "Address the Prometheus endpoint (/metrics) binds."),
        Int(MetricsPort, "9404", Between(-1, 65535), "Port of the Prometheus endpoint; 0 binds an ephemeral port, -1 disables it."),

        // Topic creation and limits.
        Int(NumPartitions, "1", AtLeast(1), "Partitions of an auto-created or default-partitioned topic."),
        Int(DefaultReplicationFactor, "1", AtLeast(1), "Replication factor of an auto-created or default-replicated topic."),
        Bool(AutoCreateTopicsEnable, true, "Create a topic when metadata is requested for an unknown one."),
        Bool(DeleteTopicEnable, true, "Allow DeleteTopics."),
        Int(MessageMaxBytes, "1048588", AtLeast(0), "Largest record batch accepted (topic: max.message.bytes)."),
        Int(MinInsyncReplicas, "1", AtLeast(1), "Replicas that must acknowledge an acks=all write (topic: min.insync.replicas)."),
        Bool(UncleanLeaderElectionEnable, false, "Allow an out-of-sync replica to become leader, at the cost of data loss."),
        Bool(AutoLeaderRebalanceEnable, true, "Periodically move leadership back to preferred replicas that are in sync."),
        Long(LeaderImbalanceCheckIntervalSeconds, "300", AtLeast(1), "Seconds between leader-imbalance checks."),
        Int(LeaderImbalancePerBrokerPercentage, "10", Between(0, 100), "Share of a broker's preferred partitions it may not lead before a rebalance."),
        Long(UncleanLeaderElectionIntervalMs, "300000", AtLeast(1), "Interval of the controller's check for offline partitions of topics that allow unclean election."),
        Str(CompressionType, "producer", OneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"), "Compression of stored batches; producer keeps what the producer sent."),
        Int(FetchMaxBytes, "57671680", AtLeast(1024), "Largest fetch response the broker builds."),
        Int(MaxIncrementalFetchSessionCacheSlots, "1000", AtLeast(0), "Incremental fetch sessions cached."),

        // Log directories and segments.
        List(LogDirs, null, null, "Directories holding partition logs; overrides log.dir."),
        Str(LogDir, "/tmp/kraft-combined-logs", null, "Directory holding partition logs when log.dirs is not set."),
        Int(LogSegmentBytes, "1073741824", AtLeast(1024 * 1024), "Maximum size of one segment file (topic: segment.bytes)."),
        Long(LogRollMs, null, AtLeast(1), "Roll a segment after this long even if not full; overrides log.roll.hours (topic: segment.ms)."),
        Int(LogRollHours, "168", AtLeast(1), "Roll a segment after this many hours (topic: segment.ms)."),
        Long(LogRollJitterMs, null, AtLeast(0), "Random jitter subtracted from the roll time; overrides log.roll.jitter.hours (topic: segment.jitter.ms)."),
        Int(LogRollJitterHours, "0", AtLeast(0), "Random jitter subtracted from the roll time, in hours (topic: segment.jitter.ms)."),
        Int(LogIndexSizeMaxBytes, "10485760", AtLeast(4), "Maximum size of an offset or time index (topic: segment.index.bytes)."),
        Int(LogIndexIntervalBytes, "4096", AtLeast(0), "Bytes of records between index entries (topic: index.interval.bytes)."),
        Bool(LogPreallocate, false, "Preallocate segment files (topic: preallocate)."),
        Long(LogSegmentDeleteDelayMs, "60000", AtLeast(0), "Delay before a deleted segment's files are removed (topic: file.delete.delay.ms)."),
        Int(NumRecoveryThreadsPerDataDir, "2", AtLeast(1), "Threads per log directory that recover or flush logs at startup and shutdown."),

        // Flush and checkpoints.
        Long(LogFlushIntervalMessages, LongMax, AtLeast(1), "Fsync a partition after this many appended records (topic: flush.messages)."),
        Long(LogFlushIntervalMs, null, null, "Fsync a partition after this long; defaults to log.flush.scheduler.interval.ms (topic: flush.ms)."),
        Long(LogFlushSchedulerIntervalMs, LongMax, null, "How often the flusher checks whether a log needs an fsync."),
        Int(LogFlushOffsetCheckpointIntervalMs, "60000", AtLeast(0), "How often the recovery-point checkpoint is written."),
        Int(LogFlushStartOffsetCheckpointIntervalMs, "60000", AtLeast(0), "How often the log-start-offset checkpoint is written."),

        // Retention.
        Long(LogRetentionMs, null, null, "Delete segments older than this; -1 keeps them forever. Overrides minutes and hours (topic: retention.ms)."),
        Int(LogRetentionMinutes, null, null, "Retention in minutes; overrides log.retention.hours (topic: retention.ms)."),
        Int(LogRetentionHours, "168", null, "Retention in hours (topic: retention.ms)."),
        Long(LogRetentionBytes, "-1", null, "Delete old segments while a partition is larger than this; -1 means no limit (topic: retention.bytes)."),
        Long(LogRetentionCheckIntervalMs, "300000", AtLeast(1), "How often retention runs."),

        // Timestamps.
        Str(LogMessageTimestampType, "CreateTime", OneOf("CreateTime", "LogAppendTime"), "Timestamp stored in records (topic: message.timestamp.type)."),
        Long(LogMessageTimestampBeforeMaxMs, LongMax, AtLeast(0), "How far in the past a CreateTime timestamp may be (topic: message.timestamp.before.max.ms)."),
        Long(LogMessageTimestampAfterMaxMs, "3600000", AtLeast(0), "How far in the future a CreateTime timestamp may be (topic: message.timestamp.after.max.ms)."),

        // Cleanup and compaction.
        List(LogCleanupPolicy, "delete", ListOf(false, "delete", "compact"), "delete, compact, or both (topic: cleanup.policy)."),
        Bool(LogCleanerEnable, true, "Run the log cleaner; compacted internal topics depend on it."),
        Int(LogCleanerThreads, "1", AtLeast(0), "Log cleaner threads."),
        Long(LogCleanerDedupeBufferSize, "134217728", null, "Memory for the cleaner's key-to-offset map, across all cleaner threads."),
        Dbl(LogCleanerMinCleanableRatio, "0.5", BetweenDouble(0, 1), "Dirty ratio above which a log is cleaned (topic: min.cleanable.dirty.ratio)."),
        Long(LogCleanerDeleteRetentionMs, "86400000", AtLeast(0), "How long tombstones survive compaction (topic: delete.retention.ms)."),
        Long(LogCleanerMinCompactionLagMs, "0", AtLeast(0), "Minimum age before a record may be compacted (topic: min.compaction.lag.ms)."),
        Long(LogCleanerMaxCompactionLagMs, LongMax, AtLeast(1), "Maximum age before a record must be compacted (topic: max.compaction.lag.ms)."),
        Long(LogCleanerBackoffMs, "15000", AtLeast(0), "Sleep of an idle cleaner thread."),

        // Group and transaction coordinators.
        Short(OffsetsTopicReplicationFactor, "3", AtLeast(1), "Replication factor of __consumer_offsets."),
        Int(OffsetsTopicNumPartitions, "50", AtLeast(1), "Partitions of __consumer_offsets; fixed after creation."),
        Int(OffsetsTopicSegmentBytes, "104857600", AtLeast(1), "segment.bytes of __consumer_offsets."),
        Int(OffsetsRetentionMinutes, "10080", AtLeast(1), "Committed offsets of an empty group are kept this long."),
        Long(OffsetsRetentionCheckIntervalMs, "600000", AtLeast(1), "How often expired offsets are removed."),
        Short(TransactionStateLogReplicationFactor, "3", AtLeast(1), "Replication factor of __transaction_state."),
        Int(TransactionStateLogNumPartitions, "50", AtLeast(1), "Partitions of __transaction_state; fixed after creation."),
        Int(TransactionStateLogMinIsr, "2", AtLeast(1), "min.insync.replicas of __transaction_state."),
        Int(TransactionStateLogSegmentBytes, "104857600", AtLeast(1), "segment.bytes of __transaction_state."),
        Int(TransactionMaxTimeoutMs, "900000", AtLeast(1), "Largest transaction timeout a producer may request."),
        Int(TransactionalIdExpirationMs, "604800000", AtLeast(1), "A transactional id without activity for this long expires."),
        Int(ProducerIdExpirationMs, "86400000", AtLeast(1), "Producer state without writes for this long expires."),
        Int(ProducerIdExpirationCheckIntervalMs, "600000", AtLeast(1), "How often expired producer state is removed."),
        Int(GroupInitialRebalanceDelayMs, "3000", null, "Delay of the first rebalance of a new group, to let more members join."),
        Int(GroupMinSessionTimeoutMs, "6000", null, "Smallest session timeout a member may request."),
        Int(GroupMaxSessionTimeoutMs, "1800000", null, "Largest session timeout a member may request."),
        Int(GroupMaxSize, IntMax, AtLeast(1), "Members allowed in one group."),
        Int(OffsetMetadataMaxBytes, "4096", null, "Longest metadata string an offset commit may carry."),

        // Replication.
        Int(ReplicaFetchMaxBytes, "1048576", AtLeast(0), "Bytes a follower fetches per partition."),
        Int(ReplicaFetchResponseMaxBytes, "10485760", AtLeast(0), "Bytes a follower fetches per response."),
        Int(ReplicaFetchWaitMaxMs, "500", null, "Maximum wait of a follower fetch."),
        Int(ReplicaFetchMinBytes, "1", null, "Minimum bytes a follower fetch waits for."),
        Int(ReplicaFetchBackoffMs, "1000", AtLeast(0), "Sleep after a failed follower fetch."),
        Long(ReplicaLagTimeMaxMs, "30000", null, "A follower not caught up for this long leaves the ISR."),
        Int(ReplicaSocketTimeoutMs, "30000", null, "Socket timeout of follower fetches."),
        Int(ReplicaSocketReceiveBufferBytes, "65536", null, "SO_RCVBUF of follower fetch connections."),
        Long(ReplicaHighWatermarkCheckpointIntervalMs, "5000", null, "How often high watermarks are checkpointed."),
        Int(NumReplicaFetchers, "1", AtLeast(1), "Fetcher threads per source broker."),
        Long(LeaderReplicationThrottledRate, "9223372036854775807", AtLeast(0),
            "Bytes/s this broker sends to out-of-sync followers of partitions in leader.replication.throttled.replicas (dynamic)."),
        Long(FollowerReplicationThrottledRate, "9223372036854775807", AtLeast(0),
            "Bytes/s this broker fetches as an out-of-sync follower of partitions in follower.replication.throttled.replicas (dynamic)."),
        Int(ReplicationQuotaWindowNum, "11", AtLeast(1), "Samples kept to measure the replication throttles' rates."),
        Int(ReplicationQuotaWindowSizeSeconds, "1", AtLeast(1), "Length of one replication throttle sample."),
        Str(ReplicaSelectorClass, null, OneOf(Broker.Cluster.Replication.RackAwareReplicaSelector.ClassName),
            "Picks the replica a consumer with client.rack reads from (KIP-392). Unset: consumers read from the leader only."),
        Int(ReconnectBackoffMs, "50", AtLeast(0), "Wait before reconnecting to another broker after a failure."),
        Int(ReconnectBackoffMaxMs, "1000", AtLeast(0), "Cap of the exponential reconnect backoff between brokers."),
    ]);

    private static ConfigKey Int(string name, string? defaultValue, ConfigValidator? validator, string doc) =>
        new(name, ConfigType.Int, defaultValue, validator, doc);

    private static ConfigKey Short(string name, string? defaultValue, ConfigValidator? validator, string doc) =>
        new(name, ConfigType.Short, defaultValue, validator, doc);

    private static ConfigKey Long(string name, string? defaultValue, ConfigValidator? validator, string doc) =>
        new(name, ConfigType.Long, defaultValue, validator, doc);

    private static ConfigKey Dbl(string name, string? defaultValue, ConfigValidator? validator, string doc) =>
        new(name, ConfigType.Double, defaultValue, validator, doc);

    private static ConfigKey Str(string name, string? defaultValue, ConfigValidator? validator, string doc) =>
        new(name, ConfigType.String, defaultValue, validator, doc);

    private static ConfigKey List(string name, string? defaultValue, ConfigValidator? validator, string doc) =>
        new(name, ConfigType.List, defaultValue, validator, doc);

    private static ConfigKey Bool(string name, bool defaultValue, string doc) =>
        new(name, ConfigType.Boolean, defaultValue ? "true" : "false", null, doc);
}
