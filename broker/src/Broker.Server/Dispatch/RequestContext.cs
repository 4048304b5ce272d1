using System.Buffers;
using System.Net;
using Broker.Protocol.Messages;

namespace Broker.Server.Dispatch;

/// <summary>
/// What a handler knows about the request beyond its body: header fields and the connection it came
/// from. Also collects pooled buffers that back the response (fetched records) so the connection can
/// return them once the response bytes are written. Owned by the connection loop for one request.
/// </summary>
internal sealed class RequestContext
{
    private List<byte[]>? _rented;

    public RequestContext(short apiKey, short apiVersion, int correlationId, string? clientId, string listenerName, EndPoint? remote, long connectionId)
    {
        ApiKey = apiKey;
        ApiVersion = apiVersion;
        CorrelationId = correlationId;
        ClientId = clientId;
        ListenerName = listenerName;
        Remote = remote;
        ConnectionId = connectionId;
    }

    public short ApiKey { get; }

    public short ApiVersion { get; }

    public int CorrelationId { get; }

    public string? ClientId { get; }

    public string ListenerName { get; }

    /// <summary>Whether the request came in on a broker listener or one of controller.listener.names.</summary>
    public ApiListeners ListenerKind { get; init; } = ApiListeners.Broker;

    public EndPoint? Remote { get; }

    public long ConnectionId { get; }

    /// <summary>
    /// Set by a handler whose request has fully taken effect and whose answer only waits (an acks=all produce waiting
    /// for the ISR): the connection may go on with later produce requests meanwhile, still answering in order.
    /// </summary>
    public bool ResponseDeferrable { get; set; }

    /// <summary>Set by a handler that sends no response but needs the connection closed (acks=0 failures).</summary>
    public bool CloseConnection { get; set; }

    /// <summary>Rents a buffer that lives until the response has been serialised.</summary>
    public byte[] RentResponseBuffer(int minimumLength)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(minimumLength);
        (_rented ??= []).Add(buffer);
        return buffer;
    }

    /// <summary>Hands the response's buffers to the connection, which returns them after sending.</summary>
    public void MoveResponseBuffersTo(List<byte[]> owner)
    {
        if (_rented is null)
        {
            return;
        }

        owner.AddRange(_rented);
        _rented.Clear();
    }

    public void ReturnResponseBuffers()
    {
        if (_rented is null)
        {
            return;
        }

        foreach (var buffer in _rented)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _rented.Clear();
    }
}
