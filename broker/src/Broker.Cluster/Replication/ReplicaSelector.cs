using System.Buffers;
using Broker.Cluster.Metadata;

namespace Broker.Cluster.Replication;

/// <summary>
/// One replica a consumer could read from, as the leader sees it (Kafka's ReplicaView): its broker, rack, log end and
/// how long ago it last had everything the leader had. Immutable value.
/// </summary>
public readonly record struct ReplicaView(int BrokerId, string? Rack, long LogEndOffset, long TimeSinceLastCaughtUpMs);

/// <summary>
/// Kafka's <c>replica.selector.class</c> (KIP-392): given the client's rack, the leader and the followers a consumer
/// may safely read from, picks the replica the consumer should fetch from. Implementations are stateless and
/// thread-safe.
/// </summary>
public interface IReplicaSelector
{
    /// <summary>The broker id the client should read from; the leader's id (or -1) keeps it on the leader.</summary>
    int Select(string? clientRack, ReplicaView leader, ReadOnlySpan<ReplicaView> followers);
}

/// <summary>
/// Kafka's <c>org.apache.kafka.common.replica.RackAwareReplicaSelector</c>: a client with a rack reads from a replica
/// in that rack, the leader when it is there, else the most caught-up one (largest log end, then most recently
/// caught up; lowest broker id on a tie, so the answer is stable); a client without a rack, or with no replica in its
/// rack, reads from the leader. Stateless; thread-safe.
/// </summary>
public sealed class RackAwareReplicaSelector : IReplicaSelector
{
    /// <summary>The class name Kafka configures it by, accepted here as the value of replica.selector.class.</summary>
    public const string ClassName = "org.apache.kafka.common.replica.RackAwareReplicaSelector";

    public static RackAwareReplicaSelector Instance { get; } = new();

    public int Select(string? clientRack, ReplicaView leader, ReadOnlySpan<ReplicaView> followers)
    {
        if (string.IsNullOrEmpty(clientRack) || string.Equals(leader.Rack, clientRack, StringComparison.Ordinal))
        {
            return leader.BrokerId;
        }

        var best = -1;
        for (var i = 0; i < followers.Length; i++)
        {
            if (!string.Equals(followers[i].Rack, clientRack, StringComparison.Ordinal))
            {
                continue;
            }

            if (best < 0 || IsBetter(followers[i], followers[best]))
            {
                best = i;
            }
        }

        return best < 0 ? leader.BrokerId : followers[best].BrokerId;
    }

    private static bool IsBetter(in ReplicaView candidate, in ReplicaView current) =>
        candidate.LogEndOffset != current.LogEndOffset ? candidate.LogEndOffset > current.LogEndOffset
        : candidate.TimeSinceLastCaughtUpMs != current.TimeSinceLastCaughtUpMs ? candidate.TimeSinceLastCaughtUpMs < current.TimeSinceLastCaughtUpMs
        : candidate.BrokerId < current.BrokerId;
}

/// <summary>
/// Kafka's ReplicaManager.findPreferredReadReplica: on the leader, for a consumer fetch, offers the selector the
/// followers that can serve <c>fetchOffset</c> right now — in the ISR, registered, unfenced, reachable on the client's
/// listener, holding the offset (log start ≤ offset ≤ log end) — and answers the chosen follower, or -1 when the
/// consumer should stay on the leader. Allocates nothing (the candidate array is pooled). Stateless; thread-safe.
/// </summary>
public static class PreferredReadReplica
{
    /// <summary>The selector named by replica.selector.class: null (leader only) when unset.</summary>
    /// <exception cref="ArgumentException">An unknown class name.</exception>
    public static IReplicaSelector? FromClassName(string? className) => className switch
    {
        null or "" => null,
        RackAwareReplicaSelector.ClassName => RackAwareReplicaSelector.Instance,
        _ => throw new ArgumentException($"Unsupported replica.selector.class '{className}'; supported: {RackAwareReplicaSelector.ClassName}.", nameof(className)),
    };

    public static int Find(IReplicaSelector selector, Partition partition, MetadataImage image, string listenerName, string? clientRack, long fetchOffset, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(image);
        if (partition.Replicas is not { } set || !partition.IsLeader)
        {
            return -1;
        }

        var leaderId = partition.LeaderId;
        var leader = new ReplicaView(leaderId, RackOf(image, leaderId), partition.Log.LogEndOffset, 0);
        var isr = set.Isr;
        var candidates = ArrayPool<ReplicaView>.Shared.Rent(Math.Max(1, isr.Count));
        try
        {
            var count = 0;
            for (var i = 0; i < isr.Count; i++)
            {
                var id = isr[i];
                if (id == leaderId || !image.Brokers.TryGetValue(id, out var broker) || broker.Fenced || !HasListener(broker, listenerName))
                {
                    continue;
                }

                var state = set.Follower(id);

                // Kafka offers only followers that hold the offset: one behind it would answer OFFSET_OUT_OF_RANGE.
                if (state.LogEndOffset < fetchOffset || state.LogStartOffset > fetchOffset || state.LastCaughtUpTimeMs < 0)
                {
                    continue;
                }

                candidates[count++] = new ReplicaView(id, broker.Rack, state.LogEndOffset, Math.Max(0, nowMs - state.LastCaughtUpTimeMs));
            }

            var chosen = selector.Select(clientRack, leader, candidates.AsSpan(0, count));

            // The selector may name the leader; the response then carries no preferred replica, as in Kafka.
            return chosen == leaderId ? -1 : chosen;
        }
        finally
        {
            ArrayPool<ReplicaView>.Shared.Return(candidates, clearArray: true);
        }
    }

    private static string? RackOf(MetadataImage image, int brokerId) =>
        image.Brokers.TryGetValue(brokerId, out var broker) ? broker.Rack : null;

    private static bool HasListener(BrokerInfo broker, string listenerName)
    {
        foreach (var endpoint in broker.Endpoints)
        {
            if (string.Equals(endpoint.ListenerName, listenerName, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
