using Broker.Cluster.Controller;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// AlterPartition (56), a controller-listener API: a partition leader on another node asks the active controller to
/// commit an ISR change (<see cref="TopicController.AlterPartitionAsync"/>); NOT_CONTROLLER when this node does not lead
/// the quorum. Thread-safe.
/// </summary>
internal sealed class AlterPartitionHandler : ApiHandler<AlterPartitionRequest, AlterPartitionResponse>
{
    private readonly TopicController _controller;

    public AlterPartitionHandler(TopicController controller)
    {
        _controller = controller;
    }

    public override short ApiKey => 56;

    public override short MinVersion => 2;

    public override short MaxVersion => 3;

    protected override async ValueTask<AlterPartitionResponse?> HandleAsync(RequestContext context, AlterPartitionRequest request, CancellationToken cancellationToken)
    {
        var response = new AlterPartitionResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new AlterPartitionResponse.TopicData { TopicId = topic.TopicId };
            response.Topics.Add(topicResult);
            foreach (var partition in topic.Partitions)
            {
                var isr = new List<int>(partition.NewIsrWithEpochs.Count);
                foreach (var member in partition.NewIsrWithEpochs)
                {
                    isr.Add(member.BrokerId);
                }

                AlterIsrResult result;
                try
                {
                    result = await _controller.AlterPartitionAsync(
                        new AlterIsrRequest(topic.TopicId, partition.PartitionIndex, request.BrokerId, partition.LeaderEpoch, partition.PartitionEpoch, isr),
                        cancellationToken).ConfigureAwait(false);
                }
                catch (NotLeaderException)
                {
                    response.ErrorCode = (short)ErrorCode.NotController;
                    return response;
                }

                var answered = new AlterPartitionResponse.PartitionData { PartitionIndex = partition.PartitionIndex, ErrorCode = (short)result.Error };
                if (result.Partition is { } committed)
                {
                    answered.LeaderId = committed.Leader;
                    answered.LeaderEpoch = committed.LeaderEpoch;
                    answered.PartitionEpoch = committed.PartitionEpoch;
                    answered.Isr = [.. committed.Isr];
                }

                topicResult.Partitions.Add(answered);
            }
        }

        return response;
    }
}
