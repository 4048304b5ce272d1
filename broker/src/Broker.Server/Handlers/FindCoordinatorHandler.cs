using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// FindCoordinator (10): key type 0 (group) answers the leader of the group's __consumer_offsets partition, key type 1
/// (transaction) the leader of the transactional id's __transaction_state partition, each topic created on first use
/// (COORDINATOR_NOT_AVAILABLE meanwhile), as Kafka does. v4+ batches keys. Thread-safe.
/// </summary>
internal sealed class FindCoordinatorHandler : ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse>
{
    private const sbyte GroupKey = 0;
    private const sbyte TransactionKey = 1;

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
        if (keyType is not (GroupKey or TransactionKey))
        {
            result.ErrorCode = (short)ErrorCode.InvalidRequest;
            result.ErrorMessage = $"Unknown coordinator key type {keyType}.";
            return result;
        }

        if (key.Length == 0)
        {
            result.ErrorCode = (short)ErrorCode.InvalidRequest;
            return result;
        }

        var (error, nodeId) = keyType == GroupKey
            ? await _services.Groups.FindCoordinatorAsync(key, cancellationToken).ConfigureAwait(false)
            : await _services.Transactions.FindCoordinatorAsync(key, cancellationToken).ConfigureAwait(false);
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
