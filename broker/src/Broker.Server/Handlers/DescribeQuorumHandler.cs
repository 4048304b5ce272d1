using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>
/// DescribeQuorum (55): the quorum leader's view of the voters and observers (end offsets, last fetch and caught-up
/// times); other nodes answer NOT_LEADER_OR_FOLLOWER as Kafka's do. Thread-safe.
/// </summary>
internal sealed class DescribeQuorumHandler : ApiHandler<DescribeQuorumRequest, DescribeQuorumResponse>
{
    private readonly RaftNetworkDriver _quorum;

    public DescribeQuorumHandler(RaftNetworkDriver quorum)
    {
        _quorum = quorum;
    }

    public override short ApiKey => 55;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override ValueTask<DescribeQuorumResponse?> HandleAsync(RequestContext context, DescribeQuorumRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeQuorumResponse?>(_quorum.Store.DescribeQuorum());
}
