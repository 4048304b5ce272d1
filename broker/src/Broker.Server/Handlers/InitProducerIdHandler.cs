using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// InitProducerId (22): gives an idempotent producer (no transactional id) a new producer id with epoch 0, as Kafka
/// does for every such request, including KIP-360 re-initialisation with the old id and epoch. Transactional ids
/// need the transaction coordinator, which this broker does not run yet: they get COORDINATOR_NOT_AVAILABLE.
/// Thread-safe.
/// </summary>
internal sealed class InitProducerIdHandler : ApiHandler<InitProducerIdRequest, InitProducerIdResponse>
{
    private readonly BrokerServices _services;

    public InitProducerIdHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 22;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override async ValueTask<InitProducerIdResponse?> HandleAsync(RequestContext context, InitProducerIdRequest request, CancellationToken cancellationToken)
    {
        var response = new InitProducerIdResponse { ProducerId = -1, ProducerEpoch = -1 };

        // KIP-360: an existing producer id and epoch come together or not at all.
        if ((request.ProducerId == -1) != (request.ProducerEpoch == -1))
        {
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
            return response;
        }

        if (request.TransactionalId is not null)
        {
            response.ErrorCode = (short)(request.TransactionalId.Length == 0 ? ErrorCode.InvalidRequest : ErrorCode.CoordinatorNotAvailable);
            return response;
        }

        response.ProducerId = await _services.ProducerIds.NextAsync(cancellationToken).ConfigureAwait(false);
        response.ProducerEpoch = 0;
        return response;
    }
}
