using Broker.Cluster.Controller;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// AlterPartitionReassignments (45): starts, replaces or (with null replicas) cancels partition reassignments; each
/// partition gets its own error code. Thread-safe.
/// </summary>
internal sealed class AlterPartitionReassignmentsHandler : ApiHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>
{
    private readonly BrokerServices _services;

    public AlterPartitionReassignmentsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 45;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<AlterPartitionReassignmentsResponse?> HandleAsync(
        RequestContext context, AlterPartitionReassignmentsRequest request, CancellationToken cancellationToken)
    {
        var requests = new List<ReassignmentRequest>();
        foreach (var topic in request.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                requests.Add(new ReassignmentRequest(topic.Name, partition.PartitionIndex, partition.Replicas));
            }
        }

        var results = await _services.Reassignments.AlterAsync(requests, cancellationToken).ConfigureAwait(false);
        var response = new AlterPartitionReassignmentsResponse { ErrorMessage = null };
        var byTopic = new Dictionary<string, AlterPartitionReassignmentsResponse.ReassignableTopicResponse>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            if (!byTopic.TryGetValue(result.Topic, out var topic))
            {
                byTopic[result.Topic] = topic = new AlterPartitionReassignmentsResponse.ReassignableTopicResponse { Name = result.Topic };
                response.Responses.Add(topic);
            }

            topic.Partitions.Add(new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
            {
                PartitionIndex = result.Partition,
                ErrorCode = (short)result.Error,
                ErrorMessage = result.Message,
            });
        }

        return response;
    }
}
