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

    protected override ValueTask<DescribeQuorumResponse?> HandleAsync(RequestContext context, DescribeQuorumRequest request, CancellationToken cancellationToken)
    {
        var response = _store.DescribeQuorum();
        if (context.ApiVersion < 2)
        {
            // Directory ids and the voters' endpoints (KIP-853) only exist from v2.
            response.Nodes.Clear();
            foreach (var partition in response.Topics.SelectMany(static t => t.Partitions))
            {
                foreach (var replica in partition.CurrentVoters.Concat(partition.Observers))
                {
                    replica.ReplicaDirectoryId = Guid.Empty;
                }
            }
        }

        return ValueTask.FromResult<DescribeQuorumResponse?>(response);
    }
}
