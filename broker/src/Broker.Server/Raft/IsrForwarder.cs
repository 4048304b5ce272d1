using Broker.Cluster.Controller;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Raft;

/// <summary>
/// A partition leader's ISR changes on a KRaft quorum: committed by the local controller when this node leads the
/// quorum, otherwise sent as AlterPartition (56, v3 with broker epochs as Kafka's brokers send) to the leader. Only the
/// error matters to the replica manager: the committed state reaches it through the metadata image. Thread-safe.
/// </summary>
internal sealed class IsrForwarder
{
    private readonly RaftNetworkDriver _quorum;
    private readonly TopicController _controller;
    private readonly int _nodeId;
    private readonly Func<long> _brokerEpoch;

    public IsrForwarder(RaftNetworkDriver quorum, TopicController controller, int nodeId, Func<long> brokerEpoch)
    {
        _quorum = quorum;
        _controller = controller;
        _nodeId = nodeId;
        _brokerEpoch = brokerEpoch;
    }

    public async Task<AlterIsrResult> AlterPartitionAsync(AlterIsrRequest request, CancellationToken cancellationToken)
    {
        var leader = await _quorum.WaitForLeaderAsync(cancellationToken).ConfigureAwait(false);
        if (leader < 0)
        {
            return new AlterIsrResult(ErrorCode.NotController, null);
        }

        if (leader == _nodeId)
        {
            try
            {
                return await _controller.AlterPartitionAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (NotLeaderException)
            {
                return new AlterIsrResult(ErrorCode.NotController, null);
            }
        }

        var partition = new AlterPartitionRequest.PartitionData
        {
            PartitionIndex = request.Partition,
            LeaderEpoch = request.LeaderEpoch,
            PartitionEpoch = request.PartitionEpoch,
        };
        foreach (var id in request.NewIsr)
        {
            // The controller checks membership against the image; the epochs are informational here.
            partition.NewIsrWithEpochs.Add(new AlterPartitionRequest.BrokerState { BrokerId = id, BrokerEpoch = -1 });
        }

        var message = new AlterPartitionRequest
        {
            BrokerId = _nodeId,
            BrokerEpoch = _brokerEpoch(),
            Topics = [new AlterPartitionRequest.TopicData { TopicId = request.TopicId, Partitions = [partition] }],
        };
        using var response = await _quorum.ForwardingConnectionTo(leader).SendAsync<AlterPartitionResponse>(message, 3, cancellationToken).ConfigureAwait(false);
        var error = response.Message.ErrorCode != 0
            ? response.Message.ErrorCode
            : response.Message.Topics is [{ Partitions: [var answered, ..] }, ..] ? answered.ErrorCode : (short)ErrorCode.UnknownServerError;
        return new AlterIsrResult((ErrorCode)error, null);
    }
}
