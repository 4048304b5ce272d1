using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// FindCoordinator (10): key type 0 (group) answers the leader of the group's __consumer_offsets partition, creating the
/// topic first if needed (COORDINATOR_NOT_AVAILABLE meanwhile); key type 1 (transaction) gets COORDINATOR_NOT_AVAILABLE,
/// as this broker runs no transaction coordinator. v4+ batches keys. Thread-safe.
/// </summary>
internal sealed class FindCoordinatorHandler : ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse>
{
    private readonly BrokerServices _services;

    public FindCoordinatorHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 10;

    public override short MinVersion => 0;

    public override short MaxVersion => 6;

    protected override async ValueTask<FindCoordinatorResponse?> HandleAsync(RequestContext context, FindCoordinatorRequest request, CancellationToken cancellationToken)
    {
        var response = new FindCoordinatorResponse();
        if (context.ApiVersion < 4)
        {
            var single = await FindAsync(context, request.Key, request.KeyType, cancellationToken).ConfigureAwait(false);
            response.ErrorCode = single.ErrorCode;
            response.ErrorMessage = context.ApiVersion >= 1 ? single.ErrorMessage : null;
            response.NodeId = single.NodeId;
            response.Host = single.Host;
            response.Port = single.Port;
            return response;
        }

        foreach (var key in request.CoordinatorKeys)
        {
            response.Coordinators.Add(await FindAsync(context, key, request.KeyType, cancellationToken).ConfigureAwait(false));
        }

        return response;
    }

    private async Task<FindCoordinatorResponse.Coordinator> FindAsync(RequestContext context, string key, sbyte keyType, CancellationToken cancellationToken)
    {
        var result = new FindCoordinatorResponse.Coordinator { Key = key, NodeId = -1, Host = "", Port = -1 };
        if (keyType != 0)
        {
            result.ErrorCode = (short)(keyType == 1 ? ErrorCode.CoordinatorNotAvailable : ErrorCode.InvalidRequest);
            result.ErrorMessage = keyType == 1 ? "This broker runs no transaction coordinator." : $"Unknown coordinator key type {keyType}.";
            return result;
        }

        if (key.Length == 0)
        {
            result.ErrorCode = (short)ErrorCode.InvalidRequest;
            return result;
        }

        var (error, nodeId) = await _services.Groups.FindCoordinatorAsync(key, cancellationToken).ConfigureAwait(false);
        if (error == ErrorCode.None && _services.Metadata.Image.Brokers.TryGetValue(nodeId, out var broker)
            && broker.EndpointFor(context.ListenerName) is { } endpoint)
        {
            result.NodeId = nodeId;
            result.Host = endpoint.Host;
            result.Port = endpoint.Port;
            return result;
        }

        result.ErrorCode = (short)(error == ErrorCode.None ? ErrorCode.CoordinatorNotAvailable : error);
        return result;
    }
}
