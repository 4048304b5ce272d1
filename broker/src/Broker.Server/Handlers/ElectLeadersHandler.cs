using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// ElectLeaders (43): preferred (type 0, the only kind before v1) or unclean (type 1) elections for the named partitions,
/// or for all partitions when the list is null. An unknown election type is INVALID_REQUEST at the top level. Thread-safe.
/// </summary>
internal sealed class ElectLeadersHandler : ApiHandler<ElectLeadersRequest, ElectLeadersResponse>
{
    private readonly BrokerServices _services;

    public ElectLeadersHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 43;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override async ValueTask<ElectLeadersResponse?> HandleAsync(RequestContext context, ElectLeadersRequest request, CancellationToken cancellationToken)
    {
        var response = new ElectLeadersResponse();
        var type = context.ApiVersion == 0 ? (sbyte)0 : request.ElectionType;
        if (type is not (0 or 1))
        {
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
            return response;
        }

        List<(string Topic, int Partition)>? partitions = null;
        if (request.TopicPartitions is { } named)
        {
            partitions = [];
            foreach (var topic in named)
            {
                foreach (var partition in topic.Partitions)
                {
                    partitions.Add((topic.Topic, partition));
                }
            }
        }

        var results = await _services.Elections.ElectLeadersAsync(
            type == 0 ? ElectionKind.Preferred : ElectionKind.Unclean, partitions, cancellationToken).ConfigureAwait(false);
        var byTopic = new Dictionary<string, ElectLeadersResponse.ReplicaElectionResult>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            if (!byTopic.TryGetValue(result.Topic, out var topic))
            {
                byTopic[result.Topic] = topic = new ElectLeadersResponse.ReplicaElectionResult { Topic = result.Topic };
                response.ReplicaElectionResults.Add(topic);
            }

            topic.PartitionResult.Add(new ElectLeadersResponse.PartitionResult
            {
                PartitionId = result.Partition,
                ErrorCode = (short)result.Error,
                ErrorMessage = result.Message,
            });
        }

        return response;
    }
}
