using Broker.Coordinators.Groups;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// OffsetFetch (9): committed offsets of one group (v1-7) or of several (v8+); null topics mean every committed
/// partition. require_stable needs no check: this broker has no pending transactional offsets. Thread-safe.
/// </summary>
internal sealed class OffsetFetchHandler : ApiHandler<OffsetFetchRequest, OffsetFetchResponse>
{
    private readonly BrokerServices _services;

    public OffsetFetchHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 9;

    public override short MinVersion => 1;

    public override short MaxVersion => 9;

    protected override ValueTask<OffsetFetchResponse?> HandleAsync(RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken)
    {
        var response = new OffsetFetchResponse();
        var fetched = new List<FetchedOffset>();
        if (context.ApiVersion < 8)
        {
            List<(string, IReadOnlyList<int>)>? topics = null;
            if (request.Topics is { } requested)
            {
                topics = [];
                foreach (var topic in requested)
                {
                    topics.Add((topic.Name, topic.PartitionIndexes));
                }
            }

            var error = _services.Groups.FetchOffsets(request.GroupId, topics, fetched);
            response.ErrorCode = context.ApiVersion >= 2 ? (short)error : (short)0;
            OffsetFetchResponse.OffsetFetchResponseTopic? current = null;
            foreach (var offset in error == ErrorCode.None ? fetched : Failed(topics, error))
            {
                if (current is null || current.Name != offset.Topic)
                {
                    current = new OffsetFetchResponse.OffsetFetchResponseTopic { Name = offset.Topic };
                    response.Topics.Add(current);
                }

                current.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = offset.Partition,
                    CommittedOffset = offset.Offset,
                    CommittedLeaderEpoch = offset.LeaderEpoch,
                    Metadata = offset.Metadata,
                    ErrorCode = (short)offset.Error,
                });
            }

            return ValueTask.FromResult<OffsetFetchResponse?>(response);
        }

        foreach (var group in request.Groups)
        {
            List<(string, IReadOnlyList<int>)>? topics = null;
            if (group.Topics is { } requested)
            {
                topics = [];
                foreach (var topic in requested)
                {
                    topics.Add((topic.Name, topic.PartitionIndexes));
                }
            }

            fetched.Clear();
            var error = _services.Groups.FetchOffsets(group.GroupId, topics, fetched);
            var groupResponse = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = group.GroupId, ErrorCode = (short)error };
            OffsetFetchResponse.OffsetFetchResponseTopics? current = null;
            foreach (var offset in fetched)
            {
                if (current is null || current.Name != offset.Topic)
                {
                    current = new OffsetFetchResponse.OffsetFetchResponseTopics { Name = offset.Topic };
                    groupResponse.Topics.Add(current);
                }

                current.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartitions
                {
                    PartitionIndex = offset.Partition,
                    CommittedOffset = offset.Offset,
                    CommittedLeaderEpoch = offset.LeaderEpoch,
                    Metadata = offset.Metadata,
                    ErrorCode = (short)offset.Error,
                });
            }

            response.Groups.Add(groupResponse);
        }

        return ValueTask.FromResult<OffsetFetchResponse?>(response);
    }

    // v1 has no group-level error: the group's error is repeated on every requested partition.
    private static List<FetchedOffset> Failed(List<(string Topic, IReadOnlyList<int> Partitions)>? topics, ErrorCode error)
    {
        var result = new List<FetchedOffset>();
        foreach (var (topic, partitions) in topics ?? [])
        {
            foreach (var p in partitions)
            {
                result.Add(new FetchedOffset(topic, p, -1, -1, "", error));
            }
        }

        return result;
    }
}
