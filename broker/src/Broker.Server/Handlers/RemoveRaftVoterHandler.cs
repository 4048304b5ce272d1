using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>
/// RemoveRaftVoter (81, KIP-853): the quorum leader removes a voter (id and directory id) and answers once the new
/// KRAFT_VOTERS record is committed; a leader that removed itself resigns then. Other nodes forward it to the active
/// controller, as Kafka's brokers do. Thread-safe.
/// </summary>
internal sealed class RemoveRaftVoterHandler : ApiHandler<RemoveRaftVoterRequest, RemoveRaftVoterResponse>
{
    private readonly RaftNetworkDriver _quorum;

    public RemoveRaftVoterHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 81;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<RemoveRaftVoterResponse?> HandleAsync(RequestContext context, RemoveRaftVoterRequest request, CancellationToken cancellationToken)
    {
        var timeoutMs = _quorum.Config.RequestTimeoutMs + 1000;
        return await _quorum.ExchangeAsync(AddRaftVoterHandler.AdminSource, request, cancellationToken, timeoutMs).ConfigureAwait(false) as RemoveRaftVoterResponse
            ?? new RemoveRaftVoterResponse { ErrorCode = (short)ErrorCode.RequestTimedOut, ErrorMessage = "No answer from the quorum in time." };
    }
}
