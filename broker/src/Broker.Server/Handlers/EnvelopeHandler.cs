using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Raft;

namespace Broker.Server.Handlers;

/// <summary>
/// Envelope (58), a controller-listener API: a request another KRaft node forwarded to the active controller, carried
/// with its original header. Only the forwardable admin APIs are accepted; they run here on the wrapped handler (never
/// forwarded again) and the inner response, header included, goes back in the envelope. A node that does not lead the
/// quorum answers NOT_CONTROLLER so the sender asks again. Thread-safe.
/// </summary>
internal sealed class EnvelopeHandler : ApiHandler<EnvelopeRequest, EnvelopeResponse>
{
    private readonly Func<RequestDispatcher> _dispatcher;
    private readonly RaftNetworkDriver _quorum;
    private readonly int _nodeId;

    public EnvelopeHandler(Func<RequestDispatcher> dispatcher, RaftNetworkDriver quorum, int nodeId)
    {
        _dispatcher = dispatcher;
        _quorum = quorum;
        _nodeId = nodeId;
    }

    public override short ApiKey => 58;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override async ValueTask<EnvelopeResponse?> HandleAsync(RequestContext context, EnvelopeRequest request, CancellationToken cancellationToken)
    {
        if (_quorum.LeaderId != _nodeId)
        {
            return new EnvelopeResponse { ErrorCode = (short)ErrorCode.NotController };
        }

        var data = request.RequestData;
        var reader = new KafkaReader(data);
        var apiKey = reader.ReadInt16();
        var version = reader.ReadInt16();
        if (_dispatcher().Find(apiKey) is not ForwardingHandler { Inner: var handler } || version < handler.MinVersion || version > handler.MaxVersion)
        {
            return new EnvelopeResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        reader = new KafkaReader(data);
        var header = new RequestHeader();
        header.Read(ref reader, ApiMessageTypes.RequestHeaderVersion((Protocol.Messages.ApiKey)apiKey, version));
        // Handled as arriving on the controller listener it came in on: the forwarding broker checked it as client-facing.
        var inner = new RequestContext(apiKey, version, header.CorrelationId, header.ClientId, context.ListenerName, context.Remote, context.ConnectionId) { ListenerKind = context.ListenerKind };
        try
        {
            var response = await handler.HandleAsync(inner, data[reader.Position..], cancellationToken).ConfigureAwait(false);
            if (response is null)
            {
                return new EnvelopeResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
            }

            using var writer = new KafkaWriter();
            new ResponseHeader { CorrelationId = header.CorrelationId }.Write(writer, ApiMessageTypes.ResponseHeaderVersion((Protocol.Messages.ApiKey)apiKey, version));
            response.Write(writer, version);
            return new EnvelopeResponse { ResponseData = writer.WrittenSpan.ToArray() };
        }
        catch (NotLeaderException)
        {
            // Leadership moved during the commit: the forwarding broker asks the next controller.
            return new EnvelopeResponse { ErrorCode = (short)ErrorCode.NotController };
        }
        finally
        {
            inner.ReturnResponseBuffers();
        }
    }
}
