using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>Vote (52), a controller-listener API: a candidate's vote request, answered by the Raft replica. Thread-safe.</summary>
internal sealed class VoteHandler : ApiHandler<VoteRequest, VoteResponse>
{
    private readonly RaftNetworkDriver _quorum;

    public VoteHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 52;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<VoteResponse?> HandleAsync(RequestContext context, VoteRequest request, CancellationToken cancellationToken)
    {
        var candidate = request.Topics is [{ Partitions: [var partition, ..] }, ..] ? partition.CandidateId : -1;
        if (candidate < 0)
        {
            return new VoteResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        return await _quorum.ExchangeAsync(candidate, request, cancellationToken).ConfigureAwait(false) as VoteResponse
            ?? new VoteResponse { ErrorCode = (short)ErrorCode.RequestTimedOut };
    }
}
