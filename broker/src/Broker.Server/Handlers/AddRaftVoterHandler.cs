using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>
/// AddRaftVoter (80, KIP-853): the quorum leader adds a caught-up observer controller to the voters and answers once the
/// new KRAFT_VOTERS record is committed; the rules are the replica's (docs/raft.md, "Voter changes"). Other nodes forward
/// it to the active controller, as Kafka's brokers do. Thread-safe.
/// </summary>
internal sealed class AddRaftVoterHandler : ApiHandler<AddRaftVoterRequest, AddRaftVoterResponse>
{
    /// <summary>The source id the replica sees for admin requests (no replica has it).</summary>
    internal const int AdminSource = -1;

    private readonly RaftNetworkDriver _quorum;

    public AddRaftVoterHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 80;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<AddRaftVoterResponse?> HandleAsync(RequestContext context, AddRaftVoterRequest request, CancellationToken cancellationToken)
    {
        // The leader answers when the change commits or its own deadline (the request's timeout) passes; wait a little longer.
        var timeoutMs = (request.TimeoutMs > 0 ? request.TimeoutMs : _quorum.Config.RequestTimeoutMs) + 1000;
        return await _quorum.ExchangeAsync(AdminSource, request, cancellationToken, timeoutMs).ConfigureAwait(false) as AddRaftVoterResponse
            ?? new AddRaftVoterResponse { ErrorCode = (short)ErrorCode.RequestTimedOut, ErrorMessage = "No answer from the quorum in time." };
    }
}
