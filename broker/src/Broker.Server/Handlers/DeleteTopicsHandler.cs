using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>DeleteTopics (20): by name (all versions) or by topic id (v6+). Thread-safe.</summary>
internal sealed class DeleteTopicsHandler : ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse>
{
    private readonly BrokerServices _services;

    public DeleteTopicsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 20;

    public override short MinVersion => 1;

    public override short MaxVersion => 6;

    protected override async ValueTask<DeleteTopicsResponse?> HandleAsync(RequestContext context, DeleteTopicsRequest request, CancellationToken cancellationToken)
    {
        var targets = new List<(string? Name, Guid Id)>();
        if (context.ApiVersion >= 6)
        {
            foreach (var topic in request.Topics)
            {
                targets.Add((topic.Name, topic.TopicId));
            }
        }
        else
        {
            foreach (var name in request.TopicNames)
            {
                targets.Add((name, Guid.Empty));
            }
        }

        var results = await _services.Topics.DeleteTopicsAsync(targets, cancellationToken).ConfigureAwait(false);
        var response = new DeleteTopicsResponse();
        foreach (var result in results)
        {
            response.Responses.Add(new DeleteTopicsResponse.DeletableTopicResult
            {
                Name = result.Name.Length == 0 && context.ApiVersion >= 6 ? null : result.Name,
                TopicId = result.TopicId,
                ErrorCode = (short)result.Error,
                ErrorMessage = result.Message,
            });
        }

        return response;
    }
}
