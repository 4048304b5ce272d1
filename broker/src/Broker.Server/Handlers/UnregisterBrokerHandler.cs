using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// UnregisterBroker (64): removes a broker's registration after moving its leaderships (kafka-cluster.sh
/// unregister); an unknown id is BROKER_ID_NOT_REGISTERED. Thread-safe.
/// </summary>
internal sealed class UnregisterBrokerHandler : ApiHandler<UnregisterBrokerRequest, UnregisterBrokerResponse>
{
    private readonly BrokerServices _services;

    public UnregisterBrokerHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 64;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<UnregisterBrokerResponse?> HandleAsync(RequestContext context, UnregisterBrokerRequest request, CancellationToken cancellationToken)
    {
        var error = await _services.BrokerLifecycle.UnregisterAsync(request.BrokerId, cancellationToken).ConfigureAwait(false);
        return new UnregisterBrokerResponse
        {
            ErrorCode = (short)error,
            ErrorMessage = error == ErrorCode.BrokerIdNotRegistered ? $"Broker ID {request.BrokerId} is not currently registered" : null,
        };
    }
}
