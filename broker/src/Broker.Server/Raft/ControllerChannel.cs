using Broker.Cluster.Controller;
using Broker.Cluster.Network;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Raft;

/// <summary>
/// The broker's requests to a remote active controller: BrokerRegistration (62) and BrokerHeartbeat (63). An interface
/// so that <see cref="QuorumMembership"/> can be driven by tests without sockets.
/// </summary>
internal interface IControllerChannel : IAsyncDisposable
{
    Task<(ErrorCode Error, long BrokerEpoch)> RegisterAsync(int controller, BrokerRegistrationRequest request, CancellationToken cancellationToken);

    Task<BrokerHeartbeatResult> HeartbeatAsync(int controller, BrokerHeartbeatRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IControllerChannel"/> over the network: one connection to the current controller's controller listener,
/// apart from the Raft traffic (a registration waits for a commit, which the follower fetches on the Raft connection
/// must not queue behind), replaced when the controller changes. Owned by the <see cref="QuorumMembership"/> task (not
/// thread-safe).
/// </summary>
internal sealed class ControllerChannel : IControllerChannel
{
    private readonly RaftNetworkDriver _quorum;
    private readonly int _nodeId;
    private KafkaClientConnection? _connection;
    private int _connectedTo = -1;

    public ControllerChannel(RaftNetworkDriver quorum, int nodeId)
    {
        _quorum = quorum;
        _nodeId = nodeId;
    }

    public async Task<(ErrorCode Error, long BrokerEpoch)> RegisterAsync(int controller, BrokerRegistrationRequest request, CancellationToken cancellationToken)
    {
        var connection = await ConnectionToAsync(controller).ConfigureAwait(false);
        using var response = await connection.SendAsync<BrokerRegistrationResponse>(request, 3, cancellationToken).ConfigureAwait(false);
        return ((ErrorCode)response.Message.ErrorCode, response.Message.BrokerEpoch);
    }

    public async Task<BrokerHeartbeatResult> HeartbeatAsync(int controller, BrokerHeartbeatRequest request, CancellationToken cancellationToken)
    {
        var connection = await ConnectionToAsync(controller).ConfigureAwait(false);
        using var response = await connection.SendAsync<BrokerHeartbeatResponse>(request, 1, cancellationToken).ConfigureAwait(false);
        var message = response.Message;
        return new BrokerHeartbeatResult((ErrorCode)message.ErrorCode, message.IsCaughtUp, message.IsFenced, message.ShouldShutDown);
    }

    private async ValueTask<KafkaClientConnection> ConnectionToAsync(int controller)
    {
        if (_connectedTo != controller || _connection is null)
        {
            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
            }

            _connection = _quorum.CreateConnection(controller, $"broker-{_nodeId}-to-controller");
            _connectedTo = controller;
        }

        return _connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }
}
