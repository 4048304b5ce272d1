using Broker.Cluster.Controller;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>CreateTopics (19): decodes the request into controller calls and reports per topic. Thread-safe.</summary>
internal sealed class CreateTopicsHandler : ApiHandler<CreateTopicsRequest, CreateTopicsResponse>
{
    private readonly BrokerServices _services;

    public CreateTopicsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 19;

    public override short MinVersion => 2;

    public override short MaxVersion => 7;

    protected override async ValueTask<CreateTopicsResponse?> HandleAsync(RequestContext context, CreateTopicsRequest request, CancellationToken cancellationToken)
    {
        var response = new CreateTopicsResponse();
        var topics = new List<NewTopic>(request.Topics.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var topic in request.Topics)
        {
            if (!seen.Add(topic.Name))
            {
                duplicates.Add(topic.Name);
            }
        }

        foreach (var topic in request.Topics)
        {
            if (duplicates.Contains(topic.Name))
            {
                continue;
            }

            Dictionary<int, IReadOnlyList<int>>? assignments = null;
            foreach (var assignment in topic.Assignments)
            {
                (assignments ??= [])[assignment.PartitionIndex] = assignment.BrokerIds;
            }

            var configs = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var config in topic.Configs)
            {
                configs[config.Name] = config.Value;
            }

            topics.Add(new NewTopic(topic.Name, topic.NumPartitions, topic.ReplicationFactor, assignments, configs));
        }

        IReadOnlyList<TopicResult> results;
        try
        {
            results = await _services.Topics.CreateTopicsAsync(topics, request.ValidateOnly, cancellationToken).ConfigureAwait(false);
        }
        catch (NotLeaderException)
        {
            // KRaft: this node does not lead the metadata quorum (or lost it mid-commit); the client retries at the controller.
            var refused = new List<TopicResult>(topics.Count);
            foreach (var topic in topics)
            {
                refused.Add(new TopicResult(topic.Name, Guid.Empty, ErrorCode.NotController, "This node is not the active controller."));
            }

            results = refused;
        }

        foreach (var result in results)
        {
            var topicResult = new CreateTopicsResponse.CreatableTopicResult
            {
                Name = result.Name,
                TopicId = result.TopicId,
                ErrorCode = (short)result.Error,
                ErrorMessage = result.Message,
                NumPartitions = result.NumPartitions,
                ReplicationFactor = result.ReplicationFactor,
            };
            if (result.Error != ErrorCode.None)
            {
                topicResult.Configs = null;
            }

            response.Topics.Add(topicResult);
        }

        foreach (var name in duplicates)
        {
            response.Topics.Add(new CreateTopicsResponse.CreatableTopicResult
            {
                Name = name,
                ErrorCode = (short)ErrorCode.InvalidRequest,
                ErrorMessage = "Create topics request from client contains a duplicate topic name.",
                Configs = null,
            });
        }

        return response;
    }
}
