using System.Net;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Network;

/// <summary>Source-generated log messages of the network layer (no formatting unless enabled).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listening on {Listener} at {EndPoint}")]
    public static partial void Listening(ILogger logger, string listener, EndPoint endPoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Remote} accepted on {Listener}")]
    public static partial void Accepted(ILogger logger, long connectionId, EndPoint? remote, string listener);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Connection {ConnectionId} closed")]
    public static partial void Closed(ILogger logger, long connectionId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: {Reason}")]
    public static partial void ClosingBadRequest(ILogger logger, long connectionId, EndPoint? remote, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Unexpected error handling API key {ApiKey} v{ApiVersion} on connection {ConnectionId}; closing it")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, short apiKey, short apiVersion, long connectionId);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Closing idle connection {ConnectionId} after {IdleMs} ms")]
    public static partial void IdleTimeout(ILogger logger, long connectionId, long idleMs);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Connection {ConnectionId} ended with a socket error: {Message}")]
    public static partial void SocketError(ILogger logger, long connectionId, string message);
}
