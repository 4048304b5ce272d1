using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Server.Raft;

/// <summary>
/// Producer-id blocks on a KRaft quorum, as Kafka's controller and RPCProducerIdManager: the active controller commits a
/// ProducerIdsRecord per block (<see cref="ProducerIdBlockAllocator"/>), for itself or for a broker asking with
/// AllocateProducerIds (67); any other node asks the leader over its forwarding connection.
/// Thread-safe.
/// </summary>
internal sealed class ProducerIdBlocks
{
    private const int MaxAttempts = 5;
    private readonly RaftNetworkDriver _quorum;
    private readonly ProducerIdBlockAllocator _allocator;
    private readonly int _nodeId;
    private readonly Func<long> _brokerEpoch;

    public ProducerIdBlocks(RaftNetworkDriver quorum, int nodeId, Func<long> brokerEpoch)
    {
        _quorum = quorum;
        _allocator = new ProducerIdBlockAllocator(quorum.Store, () =>
        {
            var (_, epoch, leader) = quorum.Store.State;
            return (leader == nodeId, epoch);
        });
        _nodeId = nodeId;
        _brokerEpoch = brokerEpoch;
    }

    /// <summary>Controller side: commits the next block for <paramref name="brokerId"/>; NOT_CONTROLLER unless this node
    /// leads (see <see cref="ProducerIdBlockAllocator"/>: not before its epoch's first entry is committed).</summary>
    public Task<(ErrorCode Error, long Start, int Length)> AllocateAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken) =>
        _allocator.AllocateAsync(brokerId, brokerEpoch, cancellationToken);

    /// <summary>Broker side: a block for this node from whoever leads the quorum.</summary>
    public async Task<(long Start, int Length)> NextBlockAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var leader = await _quorum.WaitForLeaderAsync(cancellationToken).ConfigureAwait(false);
            ErrorCode error;
            if (leader == _nodeId)
            {
                var (localError, start, length) = await AllocateAsync(_nodeId, _brokerEpoch(), cancellationToken).ConfigureAwait(false);
                if (localError == ErrorCode.None)
                {
                    return (start, length);
                }

                error = localError;
            }
            else if (leader >= 0)
            {
                var request = new AllocateProducerIdsRequest { BrokerId = _nodeId, BrokerEpoch = _brokerEpoch() };
                using var response = await _quorum.ForwardingConnectionTo(leader).SendAsync<AllocateProducerIdsResponse>(request, 0, cancellationToken)
                    .ConfigureAwait(false);
                if (response.Message.ErrorCode == (short)ErrorCode.None)
                {
                    return (response.Message.ProducerIdStart, response.Message.ProducerIdLen);
                }

                error = (ErrorCode)response.Message.ErrorCode;
            }
            else
            {
                error = ErrorCode.NotController;
            }

            if (error != ErrorCode.NotController || attempt == MaxAttempts)
            {
                throw new NotLeaderException(leader, -1);
            }
        }
    }
}
