using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>
/// AllocateProducerIds (67), a controller-listener API: the active controller commits the next producer-id block for
/// the asking broker (NOT_CONTROLLER elsewhere). Thread-safe.
/// </summary>
internal sealed class AllocateProducerIdsHandler : ApiHandler<AllocateProducerIdsRequest, AllocateProducerIdsResponse>
{
    private readonly ProducerIdBlocks _blocks;

    public AllocateProducerIdsHandler(ProducerIdBlocks blocks)
    {
        _blocks = blocks;
    }

    public override short ApiKey => 67;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<AllocateProducerIdsResponse?> HandleAsync(RequestContext context, AllocateProducerIdsRequest request, CancellationToken cancellationToken)
    {
        var (error, start, length) = await _blocks.AllocateAsync(request.BrokerId, request.BrokerEpoch, cancellationToken).ConfigureAwait(false);
        return new AllocateProducerIdsResponse { ErrorCode = (short)error, ProducerIdStart = start, ProducerIdLen = length };
    }
}
