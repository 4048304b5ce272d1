using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>
/// UpdateRaftVoter (82, KIP-853, a controller-listener API): a voter tells the quorum leader its current endpoints and
/// supported kraft.version range; the leader appends the updated voter set and answers at once. Our controllers do not
/// send it themselves yet (docs/raft.md, "Voter changes"). Thread-safe.
/// </summary>
internal sealed class UpdateRaftVoterHandler : ApiHandler<UpdateRaftVoterRequest, UpdateRaftVoterResponse>
{
    private readonly RaftNetworkDriver _quorum;

    public UpdateRaftVoterHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 82;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<UpdateRaftVoterResponse?> HandleAsync(RequestContext context, UpdateRaftVoterRequest request, CancellationToken cancellationToken) =>
        await _quorum.ExchangeAsync(request.VoterId, request, cancellationToken).ConfigureAwait(false) as UpdateRaftVoterResponse
            ?? new UpdateRaftVoterResponse { ErrorCode = (short)ErrorCode.RequestTimedOut };
}
