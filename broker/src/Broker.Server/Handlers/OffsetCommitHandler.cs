using Broker.Coordinators.Groups;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>OffsetCommit (8): validated and written to __consumer_offsets by the group coordinator. Thread-safe.</summary>
internal sealed class OffsetCommitHandler : ApiHandler<OffsetCommitRequest, OffsetCommitResponse>
{
    private readonly BrokerServices _services;

    public OffsetCommitHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 8;

    public override short MinVersion => 2;

    public override short MaxVersion => 9;

    protected override ValueTask<OffsetCommitResponse?> HandleAsync(RequestContext context, OffsetCommitRequest request, CancellationToken cancellationToken)
    {
        var entries = new List<OffsetCommitEntry>();
        foreach (var topic in request.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                entries.Add(new OffsetCommitEntry(topic.Name, partition.PartitionIndex, partition.CommittedOffset,
                    context.ApiVersion >= 6 ? partition.CommittedLeaderEpoch : -1, partition.CommittedMetadata));
            }
        }

        var call = new OffsetCommitCall(request.GroupId, request.GenerationIdOrMemberEpoch, request.MemberId, request.GroupInstanceId,
            context.ApiVersion <= 4 ? request.RetentionTimeMs : -1, entries, GroupIdNotFoundSupported: context.ApiVersion >= 9);
        var response = new OffsetCommitResponse();
        OffsetCommitResponse.OffsetCommitResponseTopic? current = null;
        foreach (var (entry, error) in _services.Groups.CommitOffsets(call))
        {
            if (current is null || current.Name != entry.Topic)
            {
                current = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = entry.Topic };
                response.Topics.Add(current);
            }

            current.Partitions.Add(new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = entry.Partition, ErrorCode = (short)error });
        }

        return ValueTask.FromResult<OffsetCommitResponse?>(response);
    }
}
