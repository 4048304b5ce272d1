using System.Globalization;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Network;
using Broker.Cluster.Raft;
using Broker.Cluster.Replication;
using Broker.Coordinators.Groups;
using Broker.Coordinators.Transactions;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Server.Configuration;
using Broker.Server.Dispatch;
using Broker.Server.Handlers;
using Broker.Server.Observability;
using Broker.Server.Raft;
using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Everything a broker is made of except its sockets: logs, metadata log, replicas, controller and the
/// handler table, wired from one config. The host adds listeners; tests drive the handlers directly.
/// Disposing closes the logs (flush, checkpoints, clean-shutdown marker). Thread-safe.
/// </summary>
internal sealed class BrokerComponents : IDisposable
{
    private Action? _detach;

    private BrokerComponents(LogManager logs, IMetadataStore metadata, RaftMetadataStore? soleVoter, BrokerServices services, RequestDispatcher dispatcher,
        ReplicaFetcherManager fetchers)
    {
        Quorum = services.Quorum;
        Logs = logs;
        Metadata = metadata;
        SoleVoter = soleVoter;
        Services = services;
        Dispatcher = dispatcher;
        Fetchers = fetchers;
    }

    public LogManager Logs { get; }

    /// <summary>The metadata log: this node's Raft store (network-bound or a sole voter), or the store shared by in-process
    /// test clusters.</summary>
    public IMetadataStore Metadata { get; }

    /// <summary>The Raft store of a node without controller.quorum.voters, a one-voter quorum of itself that needs no
    /// network; null in KRaft mode (see <see cref="Quorum"/>) and with a shared store.</summary>
    public RaftMetadataStore? SoleVoter { get; }

    /// <summary>The follower side; the host attaches it to the replica manager once this broker is registered.</summary>
    public ReplicaFetcherManager Fetchers { get; }

    public BrokerServices Services { get; }

    /// <summary>The network-bound Raft quorum (controller.quorum.voters set), or null for a sole voter or a shared store.</summary>
    public RaftNetworkDriver? Quorum { get; }

    public RequestDispatcher Dispatcher { get; }

    /// <param name="metrics">The broker's metrics; null gives the handlers a private, unserved registry (tests).</param>
    /// <param name="recovery">Updated while the logs load, for the health endpoint.</param>
    /// <param name="sharedMetadata">A metadata store shared by several brokers of one process (in-process multi-broker
    /// tests); null opens this node's own Raft metadata store.</param>
    public static BrokerComponents Create(BrokerConfig config, ILoggerFactory loggerFactory, TimeProvider time, BrokerMetrics? metrics = null,
        LogRecoveryProgress? recovery = null, IMetadataStore? sharedMetadata = null)
    {
        var topicDefaults = config.TopicDefaults();
        LogConfig defaultLogConfig;
        try
        {
            defaultLogConfig = LogConfig.From(topicDefaults);
        }
        catch (InvalidLogConfigException e)
        {
            // A broker log.* default that the topic-level rules refuse is a configuration error, not a crash.
            throw new ConfigException($"Invalid broker default for topic config {e.Key}: {e.Message}", e);
        }

        // Before the logs open: a quorum configuration error must leave the directories untouched.
        var quorumConfig = sharedMetadata is null ? QuorumSettings.From(config) : null;
        var logs = LogManager.Open(new LogManagerOptions(config.LogDirs, config.NodeId, config.ClusterId, defaultLogConfig) { RecoveryProgress = recovery }, time, loggerFactory);
        RaftMetadataStore? soleVoter = null;
        RaftNetworkDriver? quorum = null;
        try
        {
            IMetadataStore metadata;
            if (quorumConfig is not null)
            {
                // KRaft mode: the Raft quorum is the metadata log; the leader writes the bootstrap records (QuorumMembership).
                quorum = new RaftNetworkDriver(config.NodeId, quorumConfig, time, loggerFactory, QuorumSettings.SnapshotPolicy(config));
                metadata = quorum.Open(logs);
            }
            else
            {
                // No voters configured: a one-voter quorum of this node, as Kafka's combined node with
                // controller.quorum.voters=<node.id>@<its controller listener>. It elects itself and commits its own appends
                // inside Open/CommitAsync, so it sends nothing and needs no controller listener (the endpoint is never dialled).
                metadata = sharedMetadata ?? (soleVoter = RaftMetadataStore.Open(logs, config.NodeId, QuorumSettings.SoleVoter(config), time, send: null,
                    loggerFactory.CreateLogger<RaftMetadataStore>(), snapshots: QuorumSettings.SnapshotPolicy(config)));
            }

            if (quorum is null && MetadataFeatures.BootstrapRecords(metadata.Image) is { Count: > 0 } defaults)
            {
                var bootstrap = ReadBootstrapCheckpoint(config.MetadataLogDir) ?? defaults;

                // Kafka's controller writes the bootstrap feature levels before anything else; older logs get them now.
                metadata.CommitAsync(bootstrap, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }

            // Topic overrides over the broker's static and dynamic defaults, recomputed on every image.
            var effectiveDefaults = new EffectiveTopicDefaults(config);
            // ISR changes go to the controller, created just below (this node is the single-node quorum's controller).
            TopicController? isrController = null;
            IsrForwarder? isrForwarder = null;
            var replicas = new ReplicaManager(
                config.NodeId,
                logs,
                effectiveDefaults.LogConfigFor,
                new ReplicaManagerOptions(config.ReplicaLagTimeMaxMs, time, (request, ct) =>
                    isrForwarder?.AlterPartitionAsync(request, ct)
                    ?? isrController?.AlterPartitionAsync(request, ct) ?? Task.FromResult(new AlterIsrResult(Protocol.ErrorCode.NotController, null))),
                loggerFactory.CreateLogger<ReplicaManager>());
            Action<MetadataImage> applyReplicas = replicas.Apply;
            metadata.ImageChanged += applyReplicas;
            replicas.Apply(metadata.Image);

            var controller = isrController = new TopicController(metadata, new TopicControllerOptions(config.NumPartitions, (short)config.DefaultReplicationFactor, config.DeleteTopicEnable)
            {
                ValidateConfigs = static configs => TopicConfigDef.Validate(configs)?.Message,
                CreateElsewhere = quorum is null ? null : new TopicCreationForwarder(quorum, config.NodeId).CreateAsync,
            });
            isrForwarder = quorum is null ? null : new IsrForwarder(quorum, controller, config.NodeId, () => logs.BrokerEpoch);
            var configs = new ConfigController(metadata, new ConfigSchema(config), config.NodeId);
            var uncleanDefault = config.GetBoolean(ConfigNames.UncleanLeaderElectionEnable);
            // kraft.version lives in the Raft log, not in the image; a shared test store has no Raft log (level 0).
            var raftStore = quorum?.Store ?? soleVoter;
            Func<short> kraftVersion = raftStore is null ? static () => 0 : () => raftStore.KRaftVersion;
            var lifecycle = new BrokerLifecycle(controller, new BrokerLifecycleOptions(time, config.GetInt(ConfigNames.BrokerSessionTimeoutMs), uncleanDefault)
            {
                KRaftVersion = kraftVersion,
            });
            var elections = new LeaderElections(controller, new LeaderElectionOptions(config.GetBoolean(ConfigNames.AutoLeaderRebalanceEnable),
                (int)config.GetLong(ConfigNames.LeaderImbalanceCheckIntervalSeconds), config.GetInt(ConfigNames.LeaderImbalancePerBrokerPercentage), uncleanDefault,
                config.GetLong(ConfigNames.UncleanLeaderElectionIntervalMs)));
            var groupLog = new OffsetsTopicLog(config.NodeId, metadata, controller, replicas, new OffsetsTopicOptions(
                config.OffsetsTopicNumPartitions, config.OffsetsTopicReplicationFactor, config.GetInt(ConfigNames.OffsetsTopicSegmentBytes)));
            var groups = new GroupCoordinator(GroupOptions(config), groupLog, (topic, partition) => PartitionExists(metadata.Image, topic, partition),
                time, loggerFactory.CreateLogger<GroupCoordinator>());
            Action<MetadataImage> applyGroups = image => groups.OnLeadership(groupLog.LedHere(image));
            metadata.ImageChanged += applyGroups;
            groups.OnLeadership(groupLog.LedHere(metadata.Image));
            var quotas = new ReplicationQuotas(config.GetInt(ConfigNames.ReplicationQuotaWindowNum), config.GetInt(ConfigNames.ReplicationQuotaWindowSizeSeconds) * 1000L);
            Action<MetadataImage> applyQuotas = image => ApplyReplicationQuotas(config, image, quotas);
            metadata.ImageChanged += applyQuotas;
            applyQuotas(metadata.Image);
            var producerIdBlocks = quorum is null ? null : new ProducerIdBlocks(quorum, config.NodeId, () => logs.BrokerEpoch);
            var options = new ServerOptions(config.NodeId, config.AutoCreateTopicsEnable, config.FetchMaxBytes,
                PreferredReadReplica.FromClassName(config.GetString(ConfigNames.ReplicaSelectorClass)));
            var services = new BrokerServices(options, config, metadata, controller, replicas, time, metrics ?? new BrokerMetrics(time))
            {
                ProducerIds = new ProducerIdManager(metadata, config.NodeId, () => logs.BrokerEpoch, producerIdBlocks is null ? null : producerIdBlocks.NextBlockAsync),
                Configs = configs,
                Logs = logs,
                TopicDefaults = effectiveDefaults,
                Groups = groups,
                Transactions = new TransactionCoordinatorLocator(metadata, controller, new TransactionStateTopicOptions(
                    config.TransactionStateLogNumPartitions, config.TransactionStateLogReplicationFactor,
                    config.GetInt(ConfigNames.TransactionStateLogSegmentBytes), config.GetInt(ConfigNames.TransactionStateLogMinIsr))),
                BrokerLifecycle = lifecycle,
                Elections = elections,
                Reassignments = new ReassignmentController(controller, uncleanDefault),
                Quorum = quorum,
                ReplicationQuotas = quotas,
            };
            RequestDispatcher? dispatcher = null;
            List<ApiHandler> handlers =
            [
                new ProduceHandler(services),
                new FetchHandler(services),
                new ListOffsetsHandler(services),
                new MetadataHandler(services),
                new ApiVersionsHandler(() => dispatcher!, () => metadata.Image, kraftVersion),
                new CreateTopicsHandler(services),
                new DeleteTopicsHandler(services),
                new CreatePartitionsHandler(services),
                new DescribeClusterHandler(services),
                new DescribeConfigsHandler(services),
                new InitProducerIdHandler(services),
                new DescribeProducersHandler(services),
                new AlterConfigsHandler(services),
                new IncrementalAlterConfigsHandler(services),
                new DeleteRecordsHandler(services),
                new DescribeLogDirsHandler(services),
                new OffsetForLeaderEpochHandler(services),
                new ListPartitionReassignmentsHandler(services),
                new AlterPartitionReassignmentsHandler(services),
                new ElectLeadersHandler(services),
                new UnregisterBrokerHandler(services),
                new DescribeTopicPartitionsHandler(services),
                new FindCoordinatorHandler(services),
                new JoinGroupHandler(services),
                new SyncGroupHandler(services),
                new HeartbeatHandler(services),
                new LeaveGroupHandler(services),
                new OffsetCommitHandler(services),
                new OffsetFetchHandler(services),
                new ListGroupsHandler(services),
                new DescribeGroupsHandler(services),
                new DeleteGroupsHandler(services),
                new OffsetDeleteHandler(services),
            ];
            if (quorum is not null)
            {
                // Admin APIs that commit metadata run on the active controller: other nodes forward them (Envelope).
                handlers.AddRange([new AddRaftVoterHandler(quorum), new RemoveRaftVoterHandler(quorum), new UpdateRaftVoterHandler(quorum)]);
                for (var i = 0; i < handlers.Count; i++)
                {
                    if (ForwardedApis.Contains(handlers[i].ApiKey))
                    {
                        handlers[i] = new ForwardingHandler(handlers[i], quorum, config.NodeId);
                    }
                }

                // The controller-listener APIs of a KRaft node: the Raft RPCs, forwarded requests and broker registration.
                handlers.AddRange([new VoteHandler(quorum), new BeginQuorumEpochHandler(quorum), new EndQuorumEpochHandler(quorum), new FetchSnapshotHandler(quorum),
                    new DescribeQuorumHandler(quorum.Store), new EnvelopeHandler(() => dispatcher!, quorum, config.NodeId),
                    new BrokerRegistrationHandler(lifecycle), new BrokerHeartbeatHandler(lifecycle), new AllocateProducerIdsHandler(producerIdBlocks!),
                    new AlterPartitionHandler(controller)]);
            }

            else if (soleVoter is not null)
            {
                // Kafka brokers serve DescribeQuorum too (kafka-metadata-quorum --bootstrap-server); a sole voter answers itself.
                handlers.Add(new DescribeQuorumHandler(soleVoter));
            }

            dispatcher = new RequestDispatcher(handlers);
            var endpoints = new BrokerEndpointResolver(() => metadata.Image, config.InterBrokerListenerName);
            var fetchers = new ReplicaFetcherManager(FetcherOptions(config) with { Throttle = quotas.Follower }, endpoints.Resolve, () => logs.BrokerEpoch, time, loggerFactory);
            return new BrokerComponents(logs, metadata, soleVoter, services, dispatcher, fetchers)
            {
                // A shared store outlives this broker: its images must stop reaching closed logs.
                _detach = () =>
                {
                    metadata.ImageChanged -= applyReplicas;
                    metadata.ImageChanged -= applyGroups;
                    metadata.ImageChanged -= applyQuotas;
                    replicas.StopProposals();
                },
            };
        }
        catch
        {
            quorum?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            logs.Dispose();
            throw;
        }
    }

    /// <summary>CreateTopics, DeleteTopics, AlterConfigs, CreatePartitions, ElectLeaders, IncrementalAlterConfigs,
    /// AlterPartitionReassignments, UnregisterBroker, AddRaftVoter, RemoveRaftVoter: the handled APIs Kafka forwards to the
    /// active controller.</summary>
    private static readonly HashSet<short> ForwardedApis = [19, 20, 33, 37, 43, 44, 45, 64, 80, 81];

    private static GroupCoordinatorOptions GroupOptions(BrokerConfig config) => new()
    {
        MinSessionTimeoutMs = config.GetInt(ConfigNames.GroupMinSessionTimeoutMs),
        MaxSessionTimeoutMs = config.GetInt(ConfigNames.GroupMaxSessionTimeoutMs),
        InitialRebalanceDelayMs = config.GroupInitialRebalanceDelayMs,
        MaxGroupSize = config.GetInt(ConfigNames.GroupMaxSize),
        OffsetMetadataMaxBytes = config.GetInt(ConfigNames.OffsetMetadataMaxBytes),
        OffsetsRetentionMs = config.GetInt(ConfigNames.OffsetsRetentionMinutes) * 60_000L,
        OffsetsRetentionCheckIntervalMs = config.GetLong(ConfigNames.OffsetsRetentionCheckIntervalMs),
    };

    /// <summary>
    /// The throttle rates from this broker's dynamic config, the cluster-wide dynamic default, then the static file; the
    /// throttled partitions from the topics' *.replication.throttled.replicas entries naming this broker.
    /// </summary>
    internal static void ApplyReplicationQuotas(BrokerConfig config, MetadataImage image, ReplicationQuotas quotas)
    {
        var clusterDefault = image.BrokerConfigsFor(string.Empty);
        var perBroker = image.BrokerConfigsFor(config.NodeId.ToString(CultureInfo.InvariantCulture));
        quotas.Leader.UpdateBound(Rate(ConfigNames.LeaderReplicationThrottledRate));
        quotas.Follower.UpdateBound(Rate(ConfigNames.FollowerReplicationThrottledRate));
        quotas.Leader.UpdateThrottledReplicas(Lists(ReplicationQuotas.LeaderReplicasKey), config.NodeId);
        quotas.Follower.UpdateThrottledReplicas(Lists(ReplicationQuotas.FollowerReplicasKey), config.NodeId);

        long Rate(string key) =>
            DynamicBrokerConfig.Resolve(config, clusterDefault, perBroker, key).Value is { } raw
            && long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var rate) ? rate : ReplicationQuota.Unlimited;

        IEnumerable<KeyValuePair<string, string>> Lists(string key)
        {
            foreach (var topic in image.TopicsByName.Values)
            {
                if (topic.Configs.TryGetValue(key, out var value) && value.Length > 0)
                {
                    yield return KeyValuePair.Create(topic.Name, value);
                }
            }
        }
    }

    private static ReplicaFetcherOptions FetcherOptions(BrokerConfig config) => new(
        config.NodeId,
        NumFetchers: config.GetInt(ConfigNames.NumReplicaFetchers),
        MaxBytes: config.GetInt(ConfigNames.ReplicaFetchResponseMaxBytes),
        PartitionMaxBytes: config.GetInt(ConfigNames.ReplicaFetchMaxBytes),
        MaxWaitMs: config.GetInt(ConfigNames.ReplicaFetchWaitMaxMs),
        MinBytes: config.GetInt(ConfigNames.ReplicaFetchMinBytes),
        BackoffMs: config.GetInt(ConfigNames.ReplicaFetchBackoffMs),
        RequestTimeoutMs: config.GetInt(ConfigNames.ReplicaSocketTimeoutMs),
        ReconnectBackoffMs: config.GetInt(ConfigNames.ReconnectBackoffMs),
        ReconnectBackoffMaxMs: config.GetInt(ConfigNames.ReconnectBackoffMaxMs));

    private static bool PartitionExists(MetadataImage image, string topic, int partition) =>
        image.TopicsByName.TryGetValue(topic, out var info) && (uint)partition < (uint)info.Partitions.Length;

    /// <summary>Stops the network-bound quorum, if any (a sole voter has no loop to stop; a shared store belongs to whoever
    /// shared it), and closes the logs, the metadata partition with them. Stop the fetchers first.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _detach, null)?.Invoke();

        // Normally already stopped by the host (asynchronously); the quorum must stop before its log closes.
        Quorum?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Logs.Dispose();
    }

    /// <summary>The records of a formatted metadata log dir's bootstrap.checkpoint (kafka-broker storage format), checked
    /// against what this broker supports; null when the directory was not formatted by the storage tool.</summary>
    private static IReadOnlyList<IApiMessage>? ReadBootstrapCheckpoint(string metadataLogDir)
    {
        IReadOnlyList<IApiMessage>? records;
        try
        {
            records = BootstrapCheckpoint.TryRead(metadataLogDir);
        }
        catch (InvalidDataException e)
        {
            throw new ConfigException($"Cannot read the bootstrap metadata: {e.Message}", e);
        }

        foreach (var record in records ?? [])
        {
            if (record is FeatureLevelRecord { Name: MetadataFeatures.MetadataVersion } feature
                && feature.FeatureLevel != MetadataFeatures.MetadataVersionLevel)
            {
                throw new ConfigException(
                    $"{Path.Combine(metadataLogDir, BootstrapCheckpoint.FileName)} bootstraps metadata.version level {feature.FeatureLevel}, " +
                    $"but this broker supports only level {MetadataFeatures.MetadataVersionLevel} (4.0-IV3).");
            }
        }

        return records;
    }
}
