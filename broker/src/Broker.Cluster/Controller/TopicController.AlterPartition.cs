using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>An AlterPartition request for one partition (KIP-497): the leader asks for a new ISR. Immutable.</summary>
public sealed record AlterIsrRequest(Guid TopicId, int Partition, int LeaderId, int LeaderEpoch, int PartitionEpoch, IReadOnlyList<int> NewIsr);

/// <summary>The controller's answer: an error, or the partition as committed. Immutable.</summary>
public sealed record AlterIsrResult(ErrorCode Error, PartitionInfo? Partition);

/// <summary>ISR changes requested by partition leaders (Kafka's ReplicationControlManager.alterPartition).</summary>
public sealed partial class TopicController
{
    /// <summary>
    /// Validates and commits an ISR change as a PartitionChangeRecord: a stale leader epoch is FENCED_LEADER_EPOCH, a
    /// stale partition epoch INVALID_UPDATE_VERSION, a request from a replica that does not lead INVALID_REQUEST, an ISR
    /// without the leader or with a member that is not a replica, not registered, fenced or (joining while) in controlled
    /// shutdown INELIGIBLE_REPLICA. An ISR equal to the current one commits nothing and returns the partition as it is.
    /// </summary>
    public async Task<AlterIsrResult> AlterPartitionAsync(AlterIsrRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await _mutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var image = _store.Image;
            if (!image.TopicsById.TryGetValue(request.TopicId, out var topic) || (uint)request.Partition >= (uint)topic.Partitions.Length)
            {
                return new AlterIsrResult(ErrorCode.UnknownTopicOrPartition, null);
            }

            var current = topic.Partitions[request.Partition];
            if (request.LeaderEpoch < current.LeaderEpoch)
            {
                return new AlterIsrResult(ErrorCode.FencedLeaderEpoch, current);
            }

            if (request.LeaderEpoch > current.LeaderEpoch || request.LeaderId != current.Leader)
            {
                return new AlterIsrResult(ErrorCode.InvalidRequest, current);
            }

            if (request.PartitionEpoch != current.PartitionEpoch)
            {
                return new AlterIsrResult(ErrorCode.InvalidUpdateVersion, current);
            }

            if (!request.NewIsr.Contains(request.LeaderId) || request.NewIsr.Distinct().Count() != request.NewIsr.Count)
            {
                return new AlterIsrResult(ErrorCode.InvalidRequest, current);
            }

            foreach (var member in request.NewIsr)
            {
                if (!current.Replicas.Contains(member) || !image.Brokers.TryGetValue(member, out var broker) || broker.Fenced
                    || (broker.InControlledShutdown && !current.Isr.Contains(member)))
                {
                    return new AlterIsrResult(ErrorCode.IneligibleReplica, current);
                }
            }

            if (request.NewIsr.Order().SequenceEqual(current.Isr.Order()))
            {
                return new AlterIsrResult(ErrorCode.None, current);
            }

            // The builder also completes a reassignment whose adding replicas are now all in sync (and re-elects if
            // that removed the leader), as Kafka does on every partition change.
            var change = new PartitionChangeBuilder(request.TopicId, current, PartitionElections.AcceptableLeaders(image), uncleanAllowed: false)
                .WithTargetIsr(request.NewIsr)
                .Build();
            if (change is null)
            {
                return new AlterIsrResult(ErrorCode.None, current);
            }

            var next = await _store.CommitAsync([change], cancellationToken).ConfigureAwait(false);
            return new AlterIsrResult(ErrorCode.None, next.TopicsById[request.TopicId].Partitions[request.Partition]);
        }
        finally
        {
            _mutex.Release();
        }
    }
}
