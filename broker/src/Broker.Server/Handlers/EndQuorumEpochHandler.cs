using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>EndQuorumEpoch (54), a controller-listener API: a resigning leader names its preferred successors. Thread-safe.</summary>
internal sealed class EndQuorumEpochHandler : ApiHandler<EndQuorumEpochRequest, EndQuorumEpochResponse>
{
    private readonly RaftNetworkDriver _quorum;

    public EndQuorumEpochHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 54;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<EndQuorumEpochResponse?> HandleAsync(RequestContext context, EndQuorumEpochRequest request, CancellationToken cancellationToken)
    {
        var leader = request.Topics is [{ Partitions: [var partition, ..] }, ..] ? partition.LeaderId : -1;
        if (leader < 0)
        {
            return new EndQuorumEpochResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        return await _quorum.ExchangeAsync(leader, request, cancellationToken).ConfigureAwait(false) as EndQuorumEpochResponse
            ?? new EndQuorumEpochResponse { ErrorCode = (short)ErrorCode.RequestTimedOut };
    }
}
