namespace Broker.Server.Configuration;

/// <summary>Broker configuration key names, spelled as in Apache Kafka.</summary>
public static class ConfigNames
{
    // Node and cluster.
    public const string NodeId = "node.id";
    public const string ProcessRoles = "process.roles";
    public const string ClusterId = "cluster.id";
    public const string BrokerRack = "broker.rack";

    // Listeners.
    public const string Listeners = "listeners";
    public const string AdvertisedListeners = "advertised.listeners";
    public const string ListenerSecurityProtocolMap = "listener.security.protocol.map";
    public const string InterBrokerListenerName = "inter.broker.listener.name";
    public const string SecurityInterBrokerProtocol = "security.inter.broker.protocol";
    public const string ControllerListenerNames = "controller.listener.names";

    // KRaft quorum.
    public const string ControllerQuorumVoters = "controller.quorum.voters";
    public const string ControllerQuorumBootstrapServers = "controller.quorum.bootstrap.servers";
    public const string ControllerQuorumAutoJoinEnable = "controller.quorum.auto.join.enable";
    public const string ControllerQuorumElectionTimeoutMs = "controller.quorum.election.timeout.ms";
    public const string ControllerQuorumFetchTimeoutMs = "controller.quorum.fetch.timeout.ms";
    public const string ControllerQuorumElectionBackoffMaxMs = "controller.quorum.election.backoff.max.ms";
    public const string ControllerQuorumRequestTimeoutMs = "controller.quorum.request.timeout.ms";
    public const string ControllerQuorumRetryBackoffMs = "controller.quorum.retry.backoff.ms";
    public const string BrokerHeartbeatIntervalMs = "broker.heartbeat.interval.ms";
    public const string BrokerSessionTimeoutMs = "broker.session.timeout.ms";
    public const string MetadataMaxIdleIntervalMs = "metadata.max.idle.interval.ms";
    public const string MetadataLogMaxRecordBytesBetweenSnapshots = "metadata.log.max.record.bytes.between.snapshots";
    public const string MetadataLogMaxSnapshotIntervalMs = "metadata.log.max.snapshot.interval.ms";
    public const string MetadataLogSegmentBytes = "metadata.log.segment.bytes";
    public const string MetadataLogDir = "metadata.log.dir";
    public const string MetadataMaxRetentionBytes = "metadata.max.retention.bytes";
    public const string MetadataMaxRetentionMs = "metadata.max.retention.ms";
    public const string MetadataRetentionCheckIntervalMs = "metadata.retention.check.interval.ms";

    // Network.
    public const string NumNetworkThreads = "num.network.threads";
    public const string NumIoThreads = "num.io.threads";
    public const string QueuedMaxRequests = "queued.max.requests";
    public const string QueuedMaxRequestBytes = "queued.max.request.bytes";
    public const string SocketSendBufferBytes = "socket.send.buffer.bytes";
    public const string SocketReceiveBufferBytes = "socket.receive.buffer.bytes";
    public const string SocketRequestMaxBytes = "socket.request.max.bytes";
    public const string SocketListenBacklogSize = "socket.listen.backlog.size";
    public const string ConnectionsMaxIdleMs = "connections.max.idle.ms";
    public const string MaxConnections = "max.connections";
    public const string MaxConnectionsPerIp = "max.connections.per.ip";

    // Health and metrics side ports (this broker's own keys; Kafka has none).
    public const string HealthHost = "health.host";
    public const string HealthPort = "health.port";
    public const string MetricsHost = "metrics.host";
    public const string MetricsPort = "metrics.port";

    // Topic creation and limits.
    public const string NumPartitions = "num.partitions";
    public const string DefaultReplicationFactor = "default.replication.factor";
    public const string AutoCreateTopicsEnable = "auto.create.topics.enable";
    public const string DeleteTopicEnable = "delete.topic.enable";
    public const string MessageMaxBytes = "message.max.bytes";
    public const string MinInsyncReplicas = "min.insync.replicas";
    public const string UncleanLeaderElectionEnable = "unclean.leader.election.enable";
    public const string AutoLeaderRebalanceEnable = "auto.leader.rebalance.enable";
    public const string LeaderImbalanceCheckIntervalSeconds = "leader.imbalance.check.interval.seconds";
    public const string LeaderImbalancePerBrokerPercentage = "leader.imbalance.per.broker.percentage";
    public const string UncleanLeaderElectionIntervalMs = "unclean.leader.election.interval.ms";
    public const string CompressionType = "compression.type";
    public const string FetchMaxBytes = "fetch.max.bytes";
    public const string MaxIncrementalFetchSessionCacheSlots = "max.incremental.fetch.session.cache.slots";

    // Log directories and segments.
    public const string LogDirs = "log.dirs";
    public const string LogDir = "log.dir";
    public const string LogSegmentBytes = "log.segment.bytes";
    public const string LogRollMs = "log.roll.ms";
    public const string LogRollHours = "log.roll.hours";
    public const string LogRollJitterMs = "log.roll.jitter.ms";
    public const string LogRollJitterHours = "log.roll.jitter.hours";
    public const string LogIndexSizeMaxBytes = "log.index.size.max.bytes";
    public const string LogIndexIntervalBytes = "log.index.interval.bytes";
    public const string LogPreallocate = "log.preallocate";
    public const string LogSegmentDeleteDelayMs = "log.segment.delete.delay.ms";
    public const string NumRecoveryThreadsPerDataDir = "num.recovery.threads.per.data.dir";

    // Flush and checkpoints.
    public const string LogFlushIntervalMessages = "log.flush.interval.messages";
    public const string LogFlushIntervalMs = "log.flush.interval.ms";
    public const string LogFlushSchedulerIntervalMs = "log.flush.scheduler.interval.ms";
    public const string LogFlushOffsetCheckpointIntervalMs = "log.flush.offset.checkpoint.interval.ms";
    public const string LogFlushStartOffsetCheckpointIntervalMs = "log.flush.start.offset.checkpoint.interval.ms";

    // Retention.
    public const string LogRetentionMs = "log.retention.ms";
    public const string LogRetentionMinutes = "log.retention.minutes";
    public const string LogRetentionHours = "log.retention.hours";
    public const string LogRetentionBytes = "log.retention.bytes";
    public const string LogRetentionCheckIntervalMs = "log.retention.check.interval.ms";

    // Timestamps.
    public const string LogMessageTimestampType = "log.message.timestamp.type";
    public const string LogMessageTimestampBeforeMaxMs = "log.message.timestamp.before.max.ms";
    public const string LogMessageTimestampAfterMaxMs = "log.message.timestamp.after.max.ms";

    // Cleanup and compaction.
    public const string LogCleanupPolicy = "log.cleanup.policy";
    public const string LogCleanerEnable = "log.cleaner.enable";
    public const string LogCleanerThreads = "log.cleaner.threads";
    public const string LogCleanerDedupeBufferSize = "log.cleaner.dedupe.buffer.size";
    public const string LogCleanerMinCleanableRatio = "log.cleaner.min.cleanable.ratio";
    public const string LogCleanerDeleteRetentionMs = "log.cleaner.delete.retention.ms";
    public const string LogCleanerMinCompactionLagMs = "log.cleaner.min.compaction.lag.ms";
    public const string LogCleanerMaxCompactionLagMs = "log.cleaner.max.compaction.lag.ms";
    public const string LogCleanerBackoffMs = "log.cleaner.backoff.ms";

    // Group and transaction coordinators.
    public const string OffsetsTopicReplicationFactor = "offsets.topic.replication.factor";
    public const string OffsetsTopicNumPartitions = "offsets.topic.num.partitions";
    public const string OffsetsTopicSegmentBytes = "offsets.topic.segment.bytes";
    public const string OffsetsRetentionMinutes = "offsets.retention.minutes";
    public const string OffsetsRetentionCheckIntervalMs = "offsets.retention.check.interval.ms";
    public const string TransactionStateLogReplicationFactor = "transaction.state.log.replication.factor";
    public const string TransactionStateLogNumPartitions = "transaction.state.log.num.partitions";
    public const string TransactionStateLogMinIsr = "transaction.state.log.min.isr";
    public const string TransactionStateLogSegmentBytes = "transaction.state.log.segment.bytes";
    public const string TransactionMaxTimeoutMs = "transaction.max.timeout.ms";
    public const string TransactionalIdExpirationMs = "transactional.id.expiration.ms";
    public const string ProducerIdExpirationMs = "producer.id.expiration.ms";
    public const string ProducerIdExpirationCheckIntervalMs = "producer.id.expiration.check.interval.ms";
    public const string GroupInitialRebalanceDelayMs = "group.initial.rebalance.delay.ms";
    public const string GroupMinSessionTimeoutMs = "group.min.session.timeout.ms";
    public const string GroupMaxSessionTimeoutMs = "group.max.session.timeout.ms";
    public const string GroupMaxSize = "group.max.size";
    public const string OffsetMetadataMaxBytes = "offset.metadata.max.bytes";

    // Replication.
    public const string ReplicaFetchMaxBytes = "replica.fetch.max.bytes";
    public const string ReplicaFetchResponseMaxBytes = "replica.fetch.response.max.bytes";
    public const string ReplicaFetchWaitMaxMs = "replica.fetch.wait.max.ms";
    public const string ReplicaFetchMinBytes = "replica.fetch.min.bytes";
    public const string ReplicaFetchBackoffMs = "replica.fetch.backoff.ms";
    public const string ReplicaLagTimeMaxMs = "replica.lag.time.max.ms";
    public const string ReplicaSocketTimeoutMs = "replica.socket.timeout.ms";
    public const string ReplicaSocketReceiveBufferBytes = "replica.socket.receive.buffer.bytes";
    public const string ReplicaHighWatermarkCheckpointIntervalMs = "replica.high.watermark.checkpoint.interval.ms";
    public const string NumReplicaFetchers = "num.replica.fetchers";
    public const string LeaderReplicationThrottledRate = "leader.replication.throttled.rate";
    public const string FollowerReplicationThrottledRate = "follower.replication.throttled.rate";
    public const string ReplicationQuotaWindowNum = "replication.quota.window.num";
    public const string ReplicationQuotaWindowSizeSeconds = "replication.quota.window.size.seconds";
    public const string ReplicaSelectorClass = "replica.selector.class";
    public const string ReconnectBackoffMs = "reconnect.backoff.ms";
    public const string ReconnectBackoffMaxMs = "reconnect.backoff.max.ms";
}
