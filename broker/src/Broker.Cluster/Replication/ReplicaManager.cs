using System.Collections.Frozen;
using Broker.Cluster.Metadata;
using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Cluster.Replication;

/// <summary>
/// Keeps the partitions this broker hosts in step with the metadata image: creates logs for new
/// replicas, deletes logs of removed topics, applies leadership and config changes. Request handlers
/// look partitions up in an immutable snapshot swapped on every image, so lookups take no lock.
/// Thread-safe; image updates are applied one at a time.
/// </summary>
public sealed partial class ReplicaManager
{
    private readonly int _nodeId;
    private readonly LogManager _logs;
    private readonly Func<MetadataImage, TopicInfo, LogConfig> _configFor;
    private readonly ILogger _logger;
    private readonly Lock _updateLock = new();
    private Snapshot _snapshot = Snapshot.Empty;

    /// <param name="configFor">The effective log config of a topic in an image (its overrides over the broker's static and dynamic defaults).</param>
    public ReplicaManager(int nodeId, LogManager logs, Func<MetadataImage, TopicInfo, LogConfig> configFor, ILogger<ReplicaManager> logger)
    {
        _nodeId = nodeId;
        _logs = logs;
        _configFor = configFor;
        _logger = logger;
    }

    private sealed record Snapshot(FrozenDictionary<string, Partition[]> ByName, FrozenDictionary<Guid, Partition[]> ById)
    {
        public static readonly Snapshot Empty = new(
            FrozenDictionary<string, Partition[]>.Empty,
            FrozenDictionary<Guid, Partition[]>.Empty);
    }

    public Partition? Get(string topic, int partition)
    {
        var byName = Volatile.Read(ref _snapshot).ByName;
        return byName.TryGetValue(topic, out var partitions) && (uint)partition < (uint)partitions.Length ? partitions[partition] : null;
    }

    public Partition? Get(Guid topicId, int partition)
    {
        var byId = Volatile.Read(ref _snapshot).ById;
        return byId.TryGetValue(topicId, out var partitions) && (uint)partition < (uint)partitions.Length ? partitions[partition] : null;
    }

    public bool HostsTopic(Guid topicId) => Volatile.Read(ref _snapshot).ById.ContainsKey(topicId);

    public IEnumerable<Partition> All()
    {
        foreach (var partitions in Volatile.Read(ref _snapshot).ByName.Values)
        {
            foreach (var partition in partitions)
            {
                if (partition is not null)
                {
                    yield return partition;
                }
            }
        }
    }

    /// <summary>Applies a new metadata image. Called in commit order by the metadata store.</summary>
    public void Apply(MetadataImage image)
    {
        lock (_updateLock)
        {
            var previous = _snapshot;
            var byName = new Dictionary<string, Partition[]>(StringComparer.Ordinal);
            var byId = new Dictionary<Guid, Partition[]>();
            foreach (var topic in image.TopicsById.Values)
            {
                previous.ById.TryGetValue(topic.TopicId, out var existing);
                var config = _configFor(image, topic);
                var partitions = new Partition[topic.Partitions.Length];
                var hostsAny = false;
                for (var i = 0; i < topic.Partitions.Length; i++)
                {
                    var info = topic.Partitions[i];
                    if (!info.Replicas.Contains(_nodeId))
                    {
                        continue;
                    }

                    var partition = existing is not null && i < existing.Length && existing[i] is { } kept
                        ? kept
                        : new Partition(topic.Name, topic.TopicId, info.Partition, _logs.GetOrCreateLog(topic.Name, info.Partition, topic.TopicId, config), config);
                    if (partition.Config != config)
                    {
                        // A dynamic topic or broker config change: the log's own rules (roll, retention, flush) follow it too.
                        partition.Log.UpdateConfig(config);
                    }

                    partition.Config = config;
                    var becomesLeader = info.Leader == _nodeId && (!partition.IsLeader || partition.LeaderEpoch != info.LeaderEpoch || partition.Log.LeaderEpochs.LatestEpoch < info.LeaderEpoch);
                    partition.LeaderEpoch = info.LeaderEpoch;
                    partition.IsLeader = info.Leader == _nodeId;
                    if (becomesLeader)
                    {
                        // Kafka's maybeAssignEpochStartOffset: the new epoch starts at the current log end.
                        partition.Log.AssignEpochStartOffset(info.LeaderEpoch);
                    }
                    partitions[i] = partition;
                    hostsAny = true;
                }

                if (hostsAny)
                {
                    byName[topic.Name] = partitions;
                    byId[topic.TopicId] = partitions;
                }
            }

            Volatile.Write(ref _snapshot, new Snapshot(byName.ToFrozenDictionary(StringComparer.Ordinal), byId.ToFrozenDictionary()));

            foreach (var (topicId, partitions) in previous.ById)
            {
                if (!image.TopicsById.ContainsKey(topicId))
                {
                    foreach (var partition in partitions)
                    {
                        if (partition is not null)
                        {
                            LogDeletingPartition(partition.Topic, partition.Index);
                            _logs.DeleteLog(partition.Topic, partition.Index);
                        }
                    }
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleting log of removed partition {Topic}-{Partition}")]
    private partial void LogDeletingPartition(string topic, int partition);
}
