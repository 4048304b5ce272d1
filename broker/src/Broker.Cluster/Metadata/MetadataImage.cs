using System.Collections.Immutable;

namespace Broker.Cluster.Metadata;

/// <summary>One partition as the metadata log describes it. Immutable; thread-safe.</summary>
public sealed record PartitionInfo(
    int Partition,
    int Leader,
    int LeaderEpoch,
    int PartitionEpoch,
    ImmutableArray<int> Replicas,
    ImmutableArray<int> Isr)
{
    /// <summary>Replicas a reassignment is adding (also in <see cref="Replicas"/>); empty when none is in progress.</summary>
    public ImmutableArray<int> AddingReplicas { get; init; } = [];

    /// <summary>Replicas a reassignment is removing (still in <see cref="Replicas"/>); empty when none is in progress.</summary>
    public ImmutableArray<int> RemovingReplicas { get; init; } = [];

    /// <summary>Kafka's LeaderRecoveryState: 0 recovered, 1 recovering after an unclean election.</summary>
    public sbyte LeaderRecoveryState { get; init; }

    public bool IsReassigning => AddingReplicas.Length > 0 || RemovingReplicas.Length > 0;
}

/// <summary>One topic: name, id, partitions in index order and per-topic config overrides. Immutable; thread-safe.</summary>
public sealed record TopicInfo(
    string Name,
    Guid TopicId,
    ImmutableArray<PartitionInfo> Partitions,
    ImmutableDictionary<string, string> Configs)
{
    public bool IsInternal => TopicNames.IsInternal(Name);
}

/// <summary>An advertised endpoint of a broker on one listener. Immutable; thread-safe.</summary>
public sealed record BrokerEndpoint(string ListenerName, string Host, int Port, short SecurityProtocol);

/// <summary>A registered broker. Immutable; thread-safe.</summary>
public sealed record BrokerInfo(int NodeId, ImmutableArray<BrokerEndpoint> Endpoints, string? Rack, bool Fenced)
{
    /// <summary>The broker epoch the controller assigned at registration (-1 when the record carried none).</summary>
    public long Epoch { get; init; } = -1;

    /// <summary>The incarnation id of the registered broker process.</summary>
    public Guid IncarnationId { get; init; }

    /// <summary>Set by a BrokerRegistrationChangeRecord once the broker asked to shut down; cleared by re-registration.</summary>
    public bool InControlledShutdown { get; init; }

    public BrokerEndpoint? EndpointFor(string listenerName)
    {
        foreach (var endpoint in Endpoints)
        {
            if (string.Equals(endpoint.ListenerName, listenerName, StringComparison.Ordinal))
            {
                return endpoint;
            }
        }

        return null;
    }
}

/// <summary>
/// The broker's view of cluster metadata at one offset of the metadata log, built by applying
/// KRaft metadata records in order (see <see cref="MetadataImageBuilder"/>). Immutable, so request
/// handlers read a consistent snapshot without locks; thread-safe.
/// </summary>
public sealed class MetadataImage
{
    private MetadataImage(
        string clusterId,
        long offset,
        int controllerId,
        ImmutableDictionary<string, TopicInfo> topicsByName,
        ImmutableDictionary<Guid, TopicInfo> topicsById,
        ImmutableSortedDictionary<int, BrokerInfo> brokers,
        ImmutableDictionary<string, ImmutableDictionary<string, string>> brokerConfigs,
        ImmutableSortedDictionary<string, short> finalizedFeatures)
    {
        ClusterId = clusterId;
        Offset = offset;
        ControllerId = controllerId;
        TopicsByName = topicsByName;
        TopicsById = topicsById;
        Brokers = brokers;
        BrokerConfigs = brokerConfigs;
        FinalizedFeatures = finalizedFeatures;
    }

    public static MetadataImage Empty(string clusterId, int controllerId) => new(
        clusterId,
        -1,
        controllerId,
        ImmutableDictionary.Create<string, TopicInfo>(StringComparer.Ordinal),
        ImmutableDictionary<Guid, TopicInfo>.Empty,
        ImmutableSortedDictionary<int, BrokerInfo>.Empty,
        ImmutableDictionary.Create<string, ImmutableDictionary<string, string>>(StringComparer.Ordinal),
        ImmutableSortedDictionary.Create<string, short>(StringComparer.Ordinal));

    public string ClusterId { get; }

    /// <summary>Offset of the last metadata record applied, -1 for an empty log.</summary>
    public long Offset { get; }

    public int ControllerId { get; }

    public ImmutableDictionary<string, TopicInfo> TopicsByName { get; }

    public ImmutableDictionary<Guid, TopicInfo> TopicsById { get; }

    public ImmutableSortedDictionary<int, BrokerInfo> Brokers { get; }

    /// <summary>First producer id of the next block the controller hands out (last ProducerIdsRecord; 0 at first).</summary>
    public long NextProducerId { get; private init; }

    /// <summary>
    /// Dynamic broker configs from BROKER ConfigRecords, by resource name: "" holds the cluster-wide defaults,
    /// a node id (as text) that broker's own settings. Resources without configs are absent.
    /// </summary>
    public ImmutableDictionary<string, ImmutableDictionary<string, string>> BrokerConfigs { get; }

    /// <summary>Finalized feature levels from FeatureLevelRecords (e.g. metadata.version); level 0 removes a feature.</summary>
    public ImmutableSortedDictionary<string, short> FinalizedFeatures { get; }

    /// <summary>The dynamic configs of one BROKER resource ("" = cluster default), empty when none are set.</summary>
    public ImmutableDictionary<string, string> BrokerConfigsFor(string resourceName) =>
        BrokerConfigs.TryGetValue(resourceName, out var configs) ? configs : ImmutableDictionary.Create<string, string>(StringComparer.Ordinal);

    internal MetadataImage With(
        long offset,
        ImmutableDictionary<string, TopicInfo> topicsByName,
        ImmutableDictionary<Guid, TopicInfo> topicsById,
        ImmutableSortedDictionary<int, BrokerInfo> brokers,
        ImmutableDictionary<string, ImmutableDictionary<string, string>> brokerConfigs,
        ImmutableSortedDictionary<string, short> finalizedFeatures,
        long nextProducerId) =>
        new(ClusterId, offset, ControllerId, topicsByName, topicsById, brokers, brokerConfigs, finalizedFeatures) { NextProducerId = nextProducerId };
}
