using System.Net;
using Broker.Cluster.Network;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Raft;

/// <summary>
/// Wraps the handler of a metadata-writing admin API on a KRaft node. The quorum leader (the active controller) runs the
/// wrapped handler; any other node forwards the client's request, header and body as received, in an Envelope (58) to
/// the leader's controller listener and returns the inner response, as Kafka's ForwardingManager does. While no leader
/// is known it waits up to the quorum's request timeout, then answers the API's error response with REQUEST_TIMED_OUT;
/// a controller that moved (NOT_CONTROLLER, or unreachable) is looked up again, up to three attempts; every failure is a
/// retriable error in the response, never an exception that would close the client's connection. Thread-safe.
/// </summary>
internal sealed class ForwardingHandler : ApiHandler
{
    private const int MaxAttempts = 3;
    private readonly RaftNetworkDriver _quorum;
    private readonly int _nodeId;

    public ForwardingHandler(ApiHandler inner, RaftNetworkDriver quorum, int nodeId)
    {
        Inner = inner;
        _quorum = quorum;
        _nodeId = nodeId;
    }

    /// <summary>The wrapped handler, which the leader's Envelope handler calls directly (never forwarding twice).</summary>
    public ApiHandler Inner { get; }

    public override short ApiKey => Inner.ApiKey;

    public override short MinVersion => Inner.MinVersion;

    public override short MaxVersion => Inner.MaxVersion;

    public override async ValueTask<IApiMessage?> HandleAsync(RequestContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        // Config alterations naming another broker are answered here, as Kafka's brokers do before forwarding (the leader
        // itself checks them in its handler); a controller listener takes any broker id, as Kafka's controller does.
        if (context.ListenerKind == ApiListeners.Broker && ForwardedConfigChecks.Check(ApiKey, context.ApiVersion, body, _nodeId) is { } checkedConfigs)
        {
            return checkedConfigs.Remaining is { } remaining
                ? checkedConfigs.Merge(await ForwardAsync(context, ForwardedConfigChecks.Encode(remaining, context.ApiVersion), cancellationToken).ConfigureAwait(false))
                : checkedConfigs.Merge(null);
        }

        return await ForwardAsync(context, body, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<IApiMessage?> ForwardAsync(RequestContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var leader = await _quorum.WaitForLeaderAsync(cancellationToken).ConfigureAwait(false);
            if (leader < 0)
            {
                // Kafka's forwarding gives up with a timeout error once no controller answered within the request timeout:
                // a retriable answer, where an exception would close the client's connection.
                return ForwardingErrors.Build(ApiKey, context.ApiVersion, body, ErrorCode.RequestTimedOut);
            }

            if (leader == _nodeId)
            {
                try
                {
                    return await Inner.HandleAsync(context, body, cancellationToken).ConfigureAwait(false);
                }
                catch (NotLeaderException)
                {
                    // Leadership moved during the commit: the client retries at the next controller.
                    return ForwardingErrors.Build(ApiKey, context.ApiVersion, body, ErrorCode.NotController);
                }
            }

            short error;
            try
            {
                var envelope = new EnvelopeRequest
                {
                    RequestData = Frame(context, body),
                    ClientHostAddress = context.Remote is IPEndPoint remote ? remote.Address.GetAddressBytes() : IPAddress.Loopback.GetAddressBytes(),
                };
                using var response = await _quorum.ForwardingConnectionTo(leader).SendAsync<EnvelopeResponse>(envelope, 0, cancellationToken).ConfigureAwait(false);
                error = response.Message.ErrorCode;
                if (error == (short)ErrorCode.None && response.Message.ResponseData is { } data)
                {
                    return Decode(context, data);
                }
            }
            catch (KafkaConnectionException)
            {
                // The controller we knew is unreachable (stopped, or no longer listening): as NOT_CONTROLLER, ask again.
                error = (short)ErrorCode.NotController;
            }

            if (error != (short)ErrorCode.NotController)
            {
                return ForwardingErrors.Build(ApiKey, context.ApiVersion, body, (ErrorCode)error);
            }

            if (attempt == MaxAttempts)
            {
                return ForwardingErrors.Build(ApiKey, context.ApiVersion, body, ErrorCode.RequestTimedOut);
            }

            // The leader moved between our look-up and its handling: ask again.
        }
    }

    private static byte[] Frame(RequestContext context, ReadOnlyMemory<byte> body)
    {
        using var writer = new KafkaWriter(body.Length + 64);
        new RequestHeader
        {
            RequestApiKey = context.ApiKey,
            RequestApiVersion = context.ApiVersion,
            CorrelationId = context.CorrelationId,
            ClientId = context.ClientId,
        }.Write(writer, ApiMessageTypes.RequestHeaderVersion((Broker.Protocol.Messages.ApiKey)context.ApiKey, context.ApiVersion));
        writer.WriteRaw(body.Span);
        return writer.WrittenSpan.ToArray();
    }

    private static IApiMessage Decode(RequestContext context, ReadOnlyMemory<byte> data)
    {
        // Copied: the decoded message may slice its bytes, and the envelope's buffer goes back to the pool.
        var reader = new KafkaReader(data.ToArray());
        new ResponseHeader().Read(ref reader, ApiMessageTypes.ResponseHeaderVersion((Broker.Protocol.Messages.ApiKey)context.ApiKey, context.ApiVersion));
        var message = ApiMessageTypes.CreateResponse((Broker.Protocol.Messages.ApiKey)context.ApiKey);
        message.Read(ref reader, context.ApiVersion);
        return message;
    }
}
