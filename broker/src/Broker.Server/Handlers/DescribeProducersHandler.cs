using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// DescribeProducers (61): the producers each requested partition's leader remembers, with their epoch, last
/// sequence and timestamp, and the open transaction's first offset. Thread-safe.
/// </summary>
internal sealed class DescribeProducersHandler : ApiHandler<DescribeProducersRequest, DescribeProducersResponse>
{
    private readonly BrokerServices _services;

    public DescribeProducersHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 61;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<DescribeProducersResponse?> HandleAsync(RequestContext context, DescribeProducersRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeProducersResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new DescribeProducersResponse.TopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (var index in topic.PartitionIndexes)
            {
                var partitionResponse = new DescribeProducersResponse.PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(partitionResponse);
                var partition = _services.Replicas.Get(topic.Name, index);
                if (partition is null)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                if (!partition.IsLeader)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
                    continue;
                }

                foreach (var producer in partition.Log.ActiveProducers())
                {
                    partitionResponse.ActiveProducers.Add(new DescribeProducersResponse.ProducerState
                    {
                        ProducerId = producer.ProducerId,
                        ProducerEpoch = producer.Epoch,
                        LastSequence = producer.LastSequence,
                        LastTimestamp = producer.LastTimestamp,
                        CoordinatorEpoch = producer.CoordinatorEpoch,
                        CurrentTxnStartOffset = producer.CurrentTxnStartOffset,
                    });
                }
            }
        }

        return ValueTask.FromResult<DescribeProducersResponse?>(response);
    }
}
