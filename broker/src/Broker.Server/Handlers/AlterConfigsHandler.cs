using Broker.Cluster.Controller;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// AlterConfigs (33), the legacy full replacement: a resource's dynamic configs become exactly the request's
/// entries (every other dynamic key of the resource is deleted). TOPIC and BROKER resources. Thread-safe.
/// </summary>
internal sealed class AlterConfigsHandler : ApiHandler<AlterConfigsRequest, AlterConfigsResponse>
{
    private readonly BrokerServices _services;

    public AlterConfigsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 33;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override async ValueTask<AlterConfigsResponse?> HandleAsync(RequestContext context, AlterConfigsRequest request, CancellationToken cancellationToken)
    {
        var resources = new List<ConfigResourceChange>(request.Resources.Count);
        foreach (var resource in request.Resources)
        {
            var replacement = new List<KeyValuePair<string, string?>>(resource.Configs.Count);
            foreach (var config in resource.Configs)
            {
                replacement.Add(new(config.Name, config.Value));
            }

            resources.Add(new ConfigResourceChange(resource.ResourceType, resource.ResourceName, [], replacement));
        }

        var results = await _services.Configs.AlterAsync(resources, request.ValidateOnly, cancellationToken, clientFacing: context.ListenerKind == ApiListeners.Broker).ConfigureAwait(false);
        var response = new AlterConfigsResponse();
        foreach (var result in results)
        {
            response.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ErrorCode = (short)result.Error,
                ErrorMessage = result.Message,
                ResourceType = result.ResourceType,
                ResourceName = result.ResourceName,
            });
        }

        return response;
    }
}
