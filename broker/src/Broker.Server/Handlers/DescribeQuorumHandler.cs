using Broker.Cluster.Raft;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// DescribeQuorum (55): the quorum leader's view of the voters and observers (end offsets, last fetch and caught-up
/// times); other nodes answer NOT_LEADER_OR_FOLLOWER as Kafka's do. A sole voter (no controller.quorum.voters) answers on
/// its client listener, as Kafka's single combined node does. Thread-safe.
/// </summary>
internal sealed class DescribeQuorumHandler : ApiHandler<DescribeQuorumRequest, DescribeQuorumResponse>
{
    private readonly RaftMetadataStore _store;

    public DescribeQuorumHandler(RaftMetadataStore store)
    {
        _store = store;
    }

    public override short ApiKey => 55;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override ValueTask<DescribeQuorumResponse?> HandleAsync(RequestContext context, DescribeQuorumRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeQuorumResponse?>(_store.DescribeQuorum());
}
