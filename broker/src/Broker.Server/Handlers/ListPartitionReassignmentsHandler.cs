using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// ListPartitionReassignments (46): reassignments in progress with their full, adding and removing replicas; all of them
/// for a null topic list. As in Kafka's KRaft controller, named topics or partitions that do not exist, or are not
/// being reassigned, are left out rather than reported. Thread-safe.
/// </summary>
internal sealed class ListPartitionReassignmentsHandler : ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>
{
    private readonly BrokerServices _services;

    public ListPartitionReassignmentsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 46;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<ListPartitionReassignmentsResponse?> HandleAsync(
        RequestContext context, ListPartitionReassignmentsRequest request, CancellationToken cancellationToken)
    {
        List<(string Topic, IReadOnlyList<int> Partitions)>? filter = null;
        if (request.Topics is { } topics)
        {
            filter = new List<(string, IReadOnlyList<int>)>(topics.Count);
            foreach (var topic in topics)
            {
                filter.Add((topic.Name, topic.PartitionIndexes));
            }
        }

        var response = new ListPartitionReassignmentsResponse { ErrorMessage = null };
        var byTopic = new Dictionary<string, ListPartitionReassignmentsResponse.OngoingTopicReassignment>(StringComparer.Ordinal);
        foreach (var ongoing in _services.Reassignments.List(filter))
        {
            if (!byTopic.TryGetValue(ongoing.Topic, out var topic))
            {
                byTopic[ongoing.Topic] = topic = new ListPartitionReassignmentsResponse.OngoingTopicReassignment { Name = ongoing.Topic };
                response.Topics.Add(topic);
            }

            topic.Partitions.Add(new ListPartitionReassignmentsResponse.OngoingPartitionReassignment
            {
                PartitionIndex = ongoing.Partition,
                Replicas = [.. ongoing.Replicas],
                AddingReplicas = [.. ongoing.Adding],
                RemovingReplicas = [.. ongoing.Removing],
            });
        }

        return ValueTask.FromResult<ListPartitionReassignmentsResponse?>(response);
    }
}
