using Broker.Cluster.Controller;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// IncrementalAlterConfigs (44): SET, DELETE, APPEND and SUBTRACT on TOPIC and BROKER resources, each resource
/// validated and committed on its own by the <see cref="ConfigController"/>. Thread-safe.
/// </summary>
internal sealed class IncrementalAlterConfigsHandler : ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>
{
    private readonly BrokerServices _services;

    public IncrementalAlterConfigsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 44;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<IncrementalAlterConfigsResponse?> HandleAsync(
        RequestContext context, IncrementalAlterConfigsRequest request, CancellationToken cancellationToken)
    {
        var resources = new List<ConfigResourceChange>(request.Resources.Count);
        foreach (var resource in request.Resources)
        {
            var changes = new List<ConfigChange>(resource.Configs.Count);
            foreach (var config in resource.Configs)
            {
                changes.Add(new ConfigChange(config.Name, (ConfigOperation)config.ConfigOperation, config.Value));
            }

            resources.Add(new ConfigResourceChange(resource.ResourceType, resource.ResourceName, changes));
        }

        var results = await _services.Configs.AlterAsync(resources, request.ValidateOnly, cancellationToken, clientFacing: context.ListenerKind == ApiListeners.Broker).ConfigureAwait(false);
        var response = new IncrementalAlterConfigsResponse();
        foreach (var result in results)
        {
            response.Responses.Add(new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
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
