using System.Collections.Immutable;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Metadata;

/// <summary>
/// Applies KRaft metadata records (TopicRecord, PartitionRecord, PartitionChangeRecord, ConfigRecord for
/// topics and brokers, RemoveTopicRecord, RegisterBrokerRecord, UnregisterBrokerRecord, Fence/UnfenceBrokerRecord,
/// BrokerRegistrationChangeRecord, FeatureLevelRecord, ProducerIdsRecord) to an image,
/// producing the next image. Records of other types are ignored here (ACLs belong to a later subsystem).
/// Not thread-safe: one builder per batch of records.
/// </summary>
public sealed class MetadataImageBuilder
{
    /// <summary>ConfigRecord.ResourceType values (Kafka's ConfigResource.Type).</summary>
    public const sbyte TopicResource = 2;
    public const sbyte BrokerResource = 4;

    private readonly MetadataImage _base;
    private readonly ImmutableDictionary<Guid, TopicInfo>.Builder _topicsById;
    private readonly ImmutableSortedDictionary<int, BrokerInfo>.Builder _brokers;
    private readonly ImmutableDictionary<string, ImmutableDictionary<string, string>>.Builder _brokerConfigs;
    private readonly ImmutableSortedDictionary<string, short>.Builder _features;
    private readonly Dictionary<Guid, SortedDictionary<int, PartitionInfo>> _touchedPartitions = [];
    private long _offset;
    private long _nextProducerId;

    public MetadataImageBuilder(MetadataImage image)
    {
        _base = image;
        _topicsById = image.TopicsById.ToBuilder();
        _brokers = image.Brokers.ToBuilder();
        _brokerConfigs = image.BrokerConfigs.ToBuilder();
        _features = image.FinalizedFeatures.ToBuilder();
        _offset = image.Offset;
        _nextProducerId = image.NextProducerId;
    }

    public void Apply(IApiMessage record, long offset)
    {
        _offset = offset;
        switch (record)
        {
            case TopicRecord topic:
                _topicsById[topic.TopicId] = new TopicInfo(
                    topic.Name,
                    topic.TopicId,
                    [],
                    ImmutableDictionary.Create<string, string>(StringComparer.Ordinal));
                _touchedPartitions.Remove(topic.TopicId);
                break;
            case PartitionRecord partition:
                Partitions(partition.TopicId)[partition.PartitionId] = new PartitionInfo(
                    partition.PartitionId,
                    partition.Leader,
                    partition.LeaderEpoch,
                    partition.PartitionEpoch,
                    [.. partition.Replicas],
                    [.. partition.Isr])
                {
                    AddingReplicas = [.. partition.AddingReplicas],
                    RemovingReplicas = [.. partition.RemovingReplicas],
                    LeaderRecoveryState = partition.LeaderRecoveryState,
                };
                break;
            case PartitionChangeRecord change:
                ApplyChange(change);
                break;
            case RemoveTopicRecord remove:
                _topicsById.Remove(remove.TopicId);
                _touchedPartitions.Remove(remove.TopicId);
                break;
            case ConfigRecord config when config.ResourceType == TopicResource:
                ApplyTopicConfig(config);
                break;
            case ProducerIdsRecord producerIds:
                _nextProducerId = Math.Max(_nextProducerId, producerIds.NextProducerId);
                break;
            case ConfigRecord config when config.ResourceType == BrokerResource:
                ApplyBrokerConfig(config);
                break;
            case FeatureLevelRecord feature:
                if (feature.FeatureLevel == 0)
                {
                    _features.Remove(feature.Name);
                }
                else
                {
                    _features[feature.Name] = feature.FeatureLevel;
                }

                break;
            case RegisterBrokerRecord broker:
                var endpoints = ImmutableArray.CreateBuilder<BrokerEndpoint>(broker.EndPoints.Count);
                foreach (var endpoint in broker.EndPoints)
                {
                    endpoints.Add(new BrokerEndpoint(endpoint.Name, endpoint.Host, endpoint.Port, endpoint.SecurityProtocol));
                }

                _brokers[broker.BrokerId] = new BrokerInfo(broker.BrokerId, endpoints.MoveToImmutable(), broker.Rack, broker.Fenced)
                {
                    Epoch = broker.BrokerEpoch,
                    IncarnationId = broker.IncarnationId,
                    InControlledShutdown = broker.InControlledShutdown,
                };
                break;
            case UnregisterBrokerRecord unregister:
                _brokers.Remove(unregister.BrokerId);
                break;
            case FenceBrokerRecord fence:
                UpdateBroker(fence.Id, static b => b with { Fenced = true });
                break;
            case UnfenceBrokerRecord unfence:
                UpdateBroker(unfence.Id, static b => b with { Fenced = false });
                break;
            case BrokerRegistrationChangeRecord change:
                // Fenced: 1 fence, -1 unfence, 0 unchanged; InControlledShutdown: 1 entered, 0 unchanged.
                UpdateBroker(change.BrokerId, b => b with
                {
                    Fenced = change.Fenced switch { 1 => true, -1 => false, _ => b.Fenced },
                    InControlledShutdown = change.InControlledShutdown == 1 || b.InControlledShutdown,
                });
                break;
        }
    }

    private void UpdateBroker(int brokerId, Func<BrokerInfo, BrokerInfo> update)
    {
        if (_brokers.TryGetValue(brokerId, out var broker))
        {
            _brokers[brokerId] = update(broker);
        }
    }

    private SortedDictionary<int, PartitionInfo> Partitions(Guid topicId)
    {
        if (!_touchedPartitions.TryGetValue(topicId, out var partitions))
        {
            partitions = [];
            if (_topicsById.TryGetValue(topicId, out var topic))
            {
                foreach (var p in topic.Partitions)
                {
                    partitions[p.Partition] = p;
                }
            }

            _touchedPartitions[topicId] = partitions;
        }

        return partitions;
    }

    private void ApplyChange(PartitionChangeRecord change)
    {
        var partitions = Partitions(change.TopicId);
        if (!partitions.TryGetValue(change.PartitionId, out var current))
        {
            return;
        }

        // Kafka's PartitionChangeRecord: Leader -2 means "unchanged"; any other value (even the current leader, which
        // the controller writes to fence removed replicas) bumps the leader epoch.
        var leader = change.Leader == -2 ? current.Leader : change.Leader;
        var leaderEpoch = change.Leader != -2 ? current.LeaderEpoch + 1 : current.LeaderEpoch;
        partitions[change.PartitionId] = current with
        {
            Leader = leader,
            LeaderEpoch = leaderEpoch,
            PartitionEpoch = current.PartitionEpoch + 1,
            Isr = change.Isr is { } isr ? [.. isr] : current.Isr,
            Replicas = change.Replicas is { } replicas ? [.. replicas] : current.Replicas,
            AddingReplicas = change.AddingReplicas is { } adding ? [.. adding] : current.AddingReplicas,
            RemovingReplicas = change.RemovingReplicas is { } removing ? [.. removing] : current.RemovingReplicas,
            LeaderRecoveryState = change.LeaderRecoveryState == -1 ? current.LeaderRecoveryState : change.LeaderRecoveryState,
        };
    }

    private void ApplyTopicConfig(ConfigRecord config)
    {
        foreach (var (id, topic) in _topicsById)
        {
            if (topic.Name == config.ResourceName)
            {
                var configs = config.Value is null
                    ? topic.Configs.Remove(config.Name)
                    : topic.Configs.SetItem(config.Name, config.Value);
                _topicsById[id] = topic with { Configs = configs };
                return;
            }
        }
    }

    private void ApplyBrokerConfig(ConfigRecord config)
    {
        var current = _brokerConfigs.TryGetValue(config.ResourceName, out var existing)
            ? existing
            : ImmutableDictionary.Create<string, string>(StringComparer.Ordinal);
        var next = config.Value is null ? current.Remove(config.Name) : current.SetItem(config.Name, config.Value);
        if (next.IsEmpty)
        {
            _brokerConfigs.Remove(config.ResourceName);
        }
        else
        {
            _brokerConfigs[config.ResourceName] = next;
        }
    }

    public MetadataImage Build()
    {
        foreach (var (topicId, partitions) in _touchedPartitions)
        {
            if (_topicsById.TryGetValue(topicId, out var topic))
            {
                _topicsById[topicId] = topic with { Partitions = [.. partitions.Values] };
            }
        }

        _touchedPartitions.Clear();
        var byId = _topicsById.ToImmutable();
        var byName = ImmutableDictionary.CreateBuilder<string, TopicInfo>(StringComparer.Ordinal);
        foreach (var topic in byId.Values)
        {
            byName[topic.Name] = topic;
        }

        return _base.With(_offset, byName.ToImmutable(), byId, _brokers.ToImmutable(), _brokerConfigs.ToImmutable(), _features.ToImmutable(), _nextProducerId);
    }
}
