using System.Collections.Immutable;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Controller;

/// <summary>One partition of an AlterPartitionReassignments request: target replicas, or null to cancel. Immutable.</summary>
public sealed record ReassignmentRequest(string Topic, int Partition, IReadOnlyList<int>? Replicas);

/// <summary>The outcome for one partition of AlterPartitionReassignments. Immutable.</summary>
public sealed record ReassignmentResult(string Topic, int Partition, ErrorCode Error, string? Message);

/// <summary>A reassignment in progress, as ListPartitionReassignments reports it. Immutable.</summary>
public sealed record OngoingReassignment(string Topic, int Partition, ImmutableArray<int> Replicas, ImmutableArray<int> Adding, ImmutableArray<int> Removing);

/// <summary>
/// Partition reassignment with Kafka's semantics (ReplicationControlManager.changePartitionReassignment and
/// PartitionReassignmentReplicas): a target commits a PartitionChangeRecord whose replicas are the target followed by
/// the replicas being removed, with adding = target - current and removing = current - target; the reassignment
/// completes in the change that brings the last adding replica into the ISR (replicas become the target, removed
/// replicas leave the ISR, the leader is re-elected if it was removed). A pure shrink or reorder completes at once.
/// A null target cancels: the adding replicas leave replicas and ISR (the rest keep their current order, as in Kafka's
/// PartitionReassignmentRevert). A new target replaces an ongoing one, computed from the full current replica set.
/// Thread-safe: runs under the controller's mutex.
/// </summary>
public sealed class ReassignmentController
{
    private readonly TopicController _controller;
    private readonly bool _uncleanDefault;

    public ReassignmentController(TopicController controller, bool uncleanLeaderElectionDefault = false)
    {
        _controller = controller;
        _uncleanDefault = uncleanLeaderElectionDefault;
    }

    public Task<IReadOnlyList<ReassignmentResult>> AlterAsync(IReadOnlyList<ReassignmentRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return _controller.RunExclusiveAsync<IReadOnlyList<ReassignmentResult>>(async image =>
        {
            var results = new List<ReassignmentResult>(requests.Count);
            var records = new List<IApiMessage>();
            var acceptable = PartitionElections.AcceptableLeaders(image);
            foreach (var request in requests)
            {
                var (error, message) = Plan(image, request, acceptable, records);
                results.Add(new ReassignmentResult(request.Topic, request.Partition, error, message));
            }

            if (records.Count > 0)
            {
                await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return results;
        }, cancellationToken);
    }

    private (ErrorCode, string?) Plan(MetadataImage image, ReassignmentRequest request, Func<int, bool> acceptable, List<IApiMessage> records)
    {
        if (!image.TopicsByName.TryGetValue(request.Topic, out var topic) || (uint)request.Partition >= (uint)topic.Partitions.Length)
        {
            return (ErrorCode.UnknownTopicOrPartition, "The partition does not exist.");
        }

        var partition = topic.Partitions[request.Partition];
        var builder = new PartitionChangeBuilder(topic.TopicId, partition, acceptable, PartitionElections.UncleanAllowed(image, topic, _uncleanDefault));
        if (request.Replicas is null)
        {
            if (!partition.IsReassigning)
            {
                return (ErrorCode.NoReassignmentInProgress, $"No ongoing reassignment for topic {topic.Name} partition {partition.Partition}.");
            }

            // Kafka's PartitionReassignmentRevert: adding replicas go; when only they were in sync, the first original
            // replica stands in for the ISR (an unclean outcome, as in Kafka).
            var original = partition.Replicas.RemoveAll(r => partition.AddingReplicas.Contains(r));
            var isr = partition.Isr.RemoveAll(r => partition.AddingReplicas.Contains(r));
            builder.WithTargetReplicas(original, [], []).WithTargetIsr(isr.IsEmpty ? [original[0]] : isr);
        }
        else
        {
            if (Validate(image, request.Replicas) is { } invalid)
            {
                return (ErrorCode.InvalidReplicaAssignment, invalid);
            }

            // As Kafka, from the full current replica set: replicas an ongoing reassignment was adding and the new
            // target drops become removing ones, so every ISR member stays a replica until completion.
            var current = partition.Replicas;
            var target = request.Replicas.ToImmutableArray();
            var removing = current.RemoveAll(r => target.Contains(r));
            var adding = target.RemoveAll(r => current.Contains(r));
            builder.WithTargetReplicas(target.AddRange(removing), adding, removing);
        }

        if (builder.Build() is { } change)
        {
            records.Add(change);
        }

        return (ErrorCode.None, null);
    }

    private static string? Validate(MetadataImage image, IReadOnlyList<int> replicas)
    {
        if (replicas.Count == 0)
        {
            return "The manual partition assignment includes an empty replica list.";
        }

        var seen = new HashSet<int>();
        foreach (var broker in replicas)
        {
            if (!seen.Add(broker))
            {
                return $"The manual partition assignment includes the broker {broker} more than once.";
            }

            if (!image.Brokers.ContainsKey(broker))
            {
                return $"The manual partition assignment includes broker {broker}, but no such broker is registered.";
            }
        }

        return null;
    }

    /// <summary>
    /// Reassignments in progress, read from the image: all of them when <paramref name="filter"/> is null, else the named
    /// partitions that exist and are being reassigned (unknown names are skipped, as in Kafka's KRaft controller).
    /// </summary>
    public IReadOnlyList<OngoingReassignment> List(IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? filter)
    {
        var image = _controller.Store.Image;
        var ongoing = new List<OngoingReassignment>();
        if (filter is null)
        {
            foreach (var topic in image.TopicsByName.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                foreach (var partition in topic.Partitions)
                {
                    AddIfReassigning(ongoing, topic, partition);
                }
            }

            return ongoing;
        }

        foreach (var (name, indexes) in filter)
        {
            if (!image.TopicsByName.TryGetValue(name, out var topic))
            {
                continue;
            }

            foreach (var index in indexes)
            {
                if ((uint)index < (uint)topic.Partitions.Length)
                {
                    AddIfReassigning(ongoing, topic, topic.Partitions[index]);
                }
            }
        }

        return ongoing;
    }

    private static void AddIfReassigning(List<OngoingReassignment> ongoing, TopicInfo topic, PartitionInfo partition)
    {
        if (partition.IsReassigning)
        {
            ongoing.Add(new OngoingReassignment(topic.Name, partition.Partition, partition.Replicas, partition.AddingReplicas, partition.RemovingReplicas));
        }
    }
}
