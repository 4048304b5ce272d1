using Broker.Cluster.Metadata;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Controller;

/// <summary>
/// Partition-wide sweeps the controller runs when a broker's state changes (Kafka's
/// ReplicationControlManager.generateLeaderAndIsrUpdates): leaving brokers drop out of ISRs and leaderships, returning
/// brokers give offline partitions a leader again. Pure functions of an image; thread-safe.
/// </summary>
public static class PartitionElections
{
    /// <summary>Topic config (and dynamic cluster default) enabling elections of out-of-sync replicas.</summary>
    public const string UncleanLeaderElectionEnable = "unclean.leader.election.enable";

    /// <summary>A broker may lead when it is registered, unfenced, not in controlled shutdown and not <paramref name="excluded"/>.</summary>
    public static Func<int, bool> AcceptableLeaders(MetadataImage image, int excluded = -1, int alsoAcceptable = -1)
    {
        ArgumentNullException.ThrowIfNull(image);
        return id => id >= 0 && id != excluded && (id == alsoAcceptable ||
            (image.Brokers.TryGetValue(id, out var broker) && !broker.Fenced && !broker.InControlledShutdown));
    }

    /// <summary>The topic's effective <c>unclean.leader.election.enable</c>: override, dynamic cluster default, static default.</summary>
    public static bool UncleanAllowed(MetadataImage image, TopicInfo topic, bool staticDefault)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(topic);
        if (topic.Configs.TryGetValue(UncleanLeaderElectionEnable, out var value)
            || image.BrokerConfigsFor(string.Empty).TryGetValue(UncleanLeaderElectionEnable, out value))
        {
            return string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
        }

        return staticDefault;
    }

    /// <summary>
    /// Changes for a broker that is being fenced, shut down or unregistered: it leaves every ISR (never the last member)
    /// and every partition it led elects another leader, or goes offline (-1).
    /// </summary>
    public static void RemoveBroker(MetadataImage image, int brokerId, bool uncleanDefault, List<IApiMessage> records)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(records);
        var acceptable = AcceptableLeaders(image, excluded: brokerId);
        foreach (var topic in image.TopicsById.Values)
        {
            var unclean = UncleanAllowed(image, topic, uncleanDefault);
            foreach (var partition in topic.Partitions)
            {
                if (partition.Leader != brokerId && !partition.Isr.Contains(brokerId))
                {
                    continue;
                }

                var change = new PartitionChangeBuilder(topic.TopicId, partition, acceptable, unclean)
                    .WithTargetIsr(partition.Isr.Remove(brokerId))
                    .Build();
                if (change is not null)
                {
                    records.Add(change);
                }
            }
        }
    }

    /// <summary>Elections for offline partitions (leader -1) once <paramref name="returning"/> can lead again.</summary>
    public static void ElectOffline(MetadataImage image, int returning, bool uncleanDefault, List<IApiMessage> records)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(records);
        var acceptable = AcceptableLeaders(image, alsoAcceptable: returning);
        foreach (var topic in image.TopicsById.Values)
        {
            var unclean = UncleanAllowed(image, topic, uncleanDefault);
            foreach (var partition in topic.Partitions)
            {
                if (partition.Leader != -1 || !partition.Replicas.Contains(returning))
                {
                    continue;
                }

                if (new PartitionChangeBuilder(topic.TopicId, partition, acceptable, unclean).Build() is { } change)
                {
                    records.Add(change);
                }
            }
        }
    }
}
