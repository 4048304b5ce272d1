using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// OffsetForLeaderEpoch (23), v2-4 as Kafka 4 serves it: for each partition the largest known epoch not above the
/// requested one and where it ends (<see cref="LeaderEpochLookup"/>), after Kafka's current_leader_epoch check
/// (older than ours: FENCED_LEADER_EPOCH, newer: UNKNOWN_LEADER_EPOCH, -1: not checked). Thread-safe.
/// </summary>
internal sealed class OffsetForLeaderEpochHandler : ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>
{
    private readonly BrokerServices _services;

    public OffsetForLeaderEpochHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 23;

    public override short MinVersion => 2;

    public override short MaxVersion => 4;

    protected override ValueTask<OffsetForLeaderEpochResponse?> HandleAsync(RequestContext context, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken)
    {
        var response = new OffsetForLeaderEpochResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = topic.Topic };
            response.Topics.Add(topicResult);
            foreach (var requested in topic.Partitions)
            {
                var result = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = requested.Partition };
                topicResult.Partitions.Add(result);
                var partition = _services.Replicas.Get(topic.Topic, requested.Partition);
                var error = partition is null ? ErrorCode.UnknownTopicOrPartition
                    : requested.CurrentLeaderEpoch == -1 ? ErrorCode.None
                    : requested.CurrentLeaderEpoch < partition.LeaderEpoch ? ErrorCode.FencedLeaderEpoch
                    : requested.CurrentLeaderEpoch > partition.LeaderEpoch ? ErrorCode.UnknownLeaderEpoch
                    : ErrorCode.None;
                if (error == ErrorCode.None && !partition!.IsLeader)
                {
                    error = ErrorCode.NotLeaderOrFollower;
                }

                result.ErrorCode = (short)error;
                if (error == ErrorCode.None)
                {
                    (result.LeaderEpoch, result.EndOffset) = LeaderEpochLookup.EndOffsetFor(partition!.Log, partition.LeaderEpoch, requested.LeaderEpoch);
                }
            }
        }

        return ValueTask.FromResult<OffsetForLeaderEpochResponse?>(response);
    }
}
