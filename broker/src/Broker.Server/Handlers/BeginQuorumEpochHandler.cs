using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>BeginQuorumEpoch (53), a controller-listener API: a new leader announces its epoch to a voter. Thread-safe.</summary>
internal sealed class BeginQuorumEpochHandler : ApiHandler<BeginQuorumEpochRequest, BeginQuorumEpochResponse>
{
    private readonly RaftNetworkDriver _quorum;

    public BeginQuorumEpochHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 53;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<BeginQuorumEpochResponse?> HandleAsync(RequestContext context, BeginQuorumEpochRequest request, CancellationToken cancellationToken)
    {
        var leader = request.Topics is [{ Partitions: [var partition, ..] }, ..] ? partition.LeaderId : -1;
        if (leader < 0)
        {
            return new BeginQuorumEpochResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        return await _quorum.ExchangeAsync(leader, request, cancellationToken).ConfigureAwait(false) as BeginQuorumEpochResponse
            ?? new BeginQuorumEpochResponse { ErrorCode = (short)ErrorCode.RequestTimedOut };
    }
}
