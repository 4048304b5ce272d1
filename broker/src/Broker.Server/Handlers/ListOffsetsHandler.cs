using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// ListOffsets (2): latest (-1), earliest (-2), max timestamp (-3), earliest local (-4), latest tiered
/// (-5) and lookup by timestamp through the time index. Thread-safe.
/// </summary>
internal sealed class ListOffsetsHandler : ApiHandler<ListOffsetsRequest, ListOffsetsResponse>
{
    private const long Latest = -1;
    private const long Earliest = -2;
    private const long MaxTimestamp = -3;
    private const long EarliestLocal = -4;
    private const long LatestTiered = -5;

    private readonly BrokerServices _services;

    public ListOffsetsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 2;

    public override short MinVersion => 1;

    public override short MaxVersion => 10;

    protected override ValueTask<ListOffsetsResponse?> HandleAsync(RequestContext context, ListOffsetsRequest request, CancellationToken cancellationToken)
    {
        var response = new ListOffsetsResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (var p in topic.Partitions)
            {
                var result = new ListOffsetsResponse.ListOffsetsPartitionResponse
                {
                    PartitionIndex = p.PartitionIndex,
                    Timestamp = -1,
                    Offset = -1,
                    LeaderEpoch = -1,
                };
                result.ErrorCode = (short)Lookup(context.ApiVersion, topic.Name, p, result);
                topicResponse.Partitions.Add(result);
            }
        }

        return ValueTask.FromResult<ListOffsetsResponse?>(response);
    }

    // LeaderEpoch exists from v4 and is not ignorable: older versions must leave it at its default.
    private static int EpochFor(short version, int epoch) => version >= 4 ? epoch : -1;

    private ErrorCode Lookup(short version, string topic, ListOffsetsRequest.ListOffsetsPartition request, ListOffsetsResponse.ListOffsetsPartitionResponse result)
    {
        if (_services.Replicas.Get(topic, request.PartitionIndex) is not { } partition)
        {
            return ErrorCode.UnknownTopicOrPartition;
        }

        if (!partition.IsLeader)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        if (request.CurrentLeaderEpoch >= 0 && request.CurrentLeaderEpoch != partition.LeaderEpoch)
        {
            return request.CurrentLeaderEpoch < partition.LeaderEpoch ? ErrorCode.FencedLeaderEpoch : ErrorCode.UnknownLeaderEpoch;
        }

        var log = partition.Log;
        switch (request.Timestamp)
        {
            case Latest:
                result.Offset = log.HighWatermark;
                result.LeaderEpoch = EpochFor(version, partition.LeaderEpoch);
                return ErrorCode.None;
            case Earliest:
            case EarliestLocal when version >= 8:
                result.Offset = log.LogStartOffset;
                result.LeaderEpoch = EpochFor(version, partition.LeaderEpoch);
                return ErrorCode.None;
            case MaxTimestamp when version >= 7:
                if (log.MaxTimestampOffset() is { } max)
                {
                    result.Offset = max.Offset;
                    result.Timestamp = max.Timestamp;
                    result.LeaderEpoch = EpochFor(version, partition.LeaderEpoch);
                }

                return ErrorCode.None;
            case LatestTiered when version >= 9:
                return ErrorCode.None;
            case >= 0:
                if (log.OffsetForTimestamp(request.Timestamp) is { } found && found.Offset < log.HighWatermark)
                {
                    result.Offset = found.Offset;
                    result.Timestamp = found.Timestamp;
                    result.LeaderEpoch = EpochFor(version, partition.LeaderEpoch);
                }

                return ErrorCode.None;
            default:
                return ErrorCode.UnsupportedVersion;
        }
    }
}
