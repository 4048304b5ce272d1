using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// DeleteRecords (21): moves each partition's log start offset (-1 = the high watermark), removes the segments wholly
/// below it and writes the log-start-offset checkpoint before answering, so the deletion survives a restart.
/// Kafka's errors: OFFSET_OUT_OF_RANGE for an offset above the high watermark or negative, POLICY_VIOLATION when
/// cleanup.policy lacks delete, NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION. Thread-safe.
/// </summary>
internal sealed class DeleteRecordsHandler : ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse>
{
    private const long HighWatermarkOffset = -1;

    private readonly BrokerServices _services;

    public DeleteRecordsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 21;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override ValueTask<DeleteRecordsResponse?> HandleAsync(RequestContext context, DeleteRecordsRequest request, CancellationToken cancellationToken)
    {
        var response = new DeleteRecordsResponse();
        var nowMs = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var moved = false;
        foreach (var topic in request.Topics)
        {
            var topicResult = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = topic.Name };
            response.Topics.Add(topicResult);
            foreach (var partition in topic.Partitions)
            {
                var (error, lowWatermark) = Delete(topic.Name, partition.PartitionIndex, partition.Offset, nowMs, ref moved);
                topicResult.Partitions.Add(new DeleteRecordsResponse.DeleteRecordsPartitionResult
                {
                    PartitionIndex = partition.PartitionIndex,
                    ErrorCode = (short)error,
                    LowWatermark = lowWatermark,
                });
            }
        }

        if (moved)
        {
            _services.Logs.Checkpoint();
        }

        return ValueTask.FromResult<DeleteRecordsResponse?>(response);
    }

    private (ErrorCode Error, long LowWatermark) Delete(string topic, int index, long offset, long nowMs, ref bool moved)
    {
        var partition = _services.Replicas.Get(topic, index);
        if (partition is null)
        {
            return (ErrorCode.UnknownTopicOrPartition, -1);
        }

        if (!partition.IsLeader)
        {
            return (ErrorCode.NotLeaderOrFollower, -1);
        }

        if (!partition.Config.DeleteRetentionEnabled)
        {
            return (ErrorCode.PolicyViolation, -1);
        }

        var log = partition.Log;
        var highWatermark = log.HighWatermark;
        var target = offset == HighWatermarkOffset ? highWatermark : offset;
        if (target < 0 || target > highWatermark)
        {
            return (ErrorCode.OffsetOutOfRange, -1);
        }

        var before = log.LogStartOffset;
        var after = log.DeleteRecordsBefore(target, nowMs);
        moved |= after != before;
        return (ErrorCode.None, after);
    }
}
