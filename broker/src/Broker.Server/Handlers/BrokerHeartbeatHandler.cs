using Broker.Cluster.Controller;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// BrokerHeartbeat (63), a controller-listener API: keeps a broker's session, unfences, fences and grants controlled
/// shutdown through the controller's <see cref="BrokerLifecycle"/>. Thread-safe.
/// </summary>
internal sealed class BrokerHeartbeatHandler : ApiHandler<BrokerHeartbeatRequest, BrokerHeartbeatResponse>
{
    private readonly BrokerLifecycle _lifecycle;

    public BrokerHeartbeatHandler(BrokerLifecycle lifecycle)
    {
        _lifecycle = lifecycle;
    }

    public override short ApiKey => 63;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<BrokerHeartbeatResponse?> HandleAsync(RequestContext context, BrokerHeartbeatRequest request, CancellationToken cancellationToken)
    {
        BrokerHeartbeatResult result;
        try
        {
            result = await _lifecycle.HeartbeatAsync(
                new BrokerHeartbeatInfo(request.BrokerId, request.BrokerEpoch, request.CurrentMetadataOffset, request.WantFence, request.WantShutDown),
                cancellationToken).ConfigureAwait(false);
        }
        catch (NotLeaderException)
        {
            // This node stopped leading the quorum (KRaft): the broker retries at the new controller.
            return new BrokerHeartbeatResponse { ErrorCode = (short)ErrorCode.NotController };
        }

        return new BrokerHeartbeatResponse
        {
            ErrorCode = (short)result.Error,
            IsCaughtUp = result.IsCaughtUp,
            IsFenced = result.IsFenced,
            ShouldShutDown = result.ShouldShutDown,
        };
    }
}
