using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>
/// FetchSnapshot (59), a controller-listener API: a follower or observer whose fetch position is below the leader's
/// metadata log start downloads the leader's latest snapshot in chunks (docs/raft.md, "Snapshots"). Thread-safe.
/// </summary>
internal sealed class FetchSnapshotHandler : ApiHandler<FetchSnapshotRequest, FetchSnapshotResponse>
{
    private readonly RaftNetworkDriver _quorum;

    public FetchSnapshotHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 59;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<FetchSnapshotResponse?> HandleAsync(RequestContext context, FetchSnapshotRequest request, CancellationToken cancellationToken)
    {
        if (request.ReplicaId < 0)
        {
            // Only replicas of the quorum fetch snapshots; a consumer has no business here.
            return new FetchSnapshotResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        return await _quorum.ExchangeAsync(request.ReplicaId, request, cancellationToken).ConfigureAwait(false) as FetchSnapshotResponse
            ?? new FetchSnapshotResponse { ErrorCode = (short)ErrorCode.RequestTimedOut };
    }
}
