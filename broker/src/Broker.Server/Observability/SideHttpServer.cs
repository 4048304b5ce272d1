using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.Server.Network;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Observability;

/// <summary>An HTTP answer: status, content type and body (empty for 204 and 503).</summary>
internal readonly record struct HttpReply(int Status, string? ContentType, ReadOnlyMemory<byte> Body)
{
    public static HttpReply Empty(int status) => new(status, null, ReadOnlyMemory<byte>.Empty);
}

/// <summary>
/// A deliberately small HTTP/1.1 server for the health and metrics side ports: one GET (or HEAD) per connection,
/// answered with Content-Length and closed. A raw socket rather than HttpListener (which prometheus-net's
/// MetricServer uses) because HttpListener cannot bind port 0, which tests rely on, and rather than Kestrel to keep
/// ASP.NET Core out of the broker. Requests are read with a size limit and a timeout; anything malformed gets 400.
/// Thread-safe.
/// </summary>
internal sealed partial class SideHttpServer : IAsyncDisposable
{
    private const int MaxRequestHeadBytes = 8 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly string _name;
    private readonly Func<string, CancellationToken, ValueTask<HttpReply>> _route;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Task> _inFlight = new();
    private Socket? _socket;
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextId;

    /// <param name="name">Shown in logs ("health", "metrics").</param>
    /// <param name="route">Answers a request path (query string removed).</param>
    public SideHttpServer(string name, Func<string, CancellationToken, ValueTask<HttpReply>> route, ILogger logger)
    {
        _name = name;
        _route = route;
        _logger = logger;
    }

    /// <summary>The bound endpoint (port 0 resolved), or null before <see cref="Start"/>.</summary>
    public IPEndPoint? EndPoint => (IPEndPoint?)_socket?.LocalEndPoint;

    public void Start(string host, int port)
    {
        var address = KafkaSocketServer.ResolveBindAddress(host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(64);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        LogListening(_logger, _name, socket.LocalEndPoint!);
        _acceptLoop = AcceptLoopAsync(socket);
    }

    private async Task AcceptLoopAsync(Socket listenSocket)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listenSocket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            var id = Interlocked.Increment(ref _nextId);
            _inFlight[id] = ServeAsync(id, socket);
        }
    }

    private async Task ServeAsync(long id, Socket socket)
    {
        await Task.Yield();
        var buffer = ArrayPool<byte>.Shared.Rent(MaxRequestHeadBytes);
        try
        {
            using (socket)
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                timeout.CancelAfter(RequestTimeout);
                var reply = await ReadAndRouteAsync(socket, buffer, timeout.Token).ConfigureAwait(false);
                if (reply is { } r)
                {
                    await SendAsync(socket, r.Status, r.ContentType, r.Body, r.HeadOnly, timeout.Token).ConfigureAwait(false);
                }

                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            LogRequestFailed(_logger, _name, e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _inFlight.TryRemove(id, out _);
        }
    }

    private async ValueTask<(int Status, string? ContentType, ReadOnlyMemory<byte> Body, bool HeadOnly)?> ReadAndRouteAsync(
        Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        int end;
        while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (length == MaxRequestHeadBytes)
            {
                return (431, null, ReadOnlyMemory<byte>.Empty, false);
            }

            var read = await socket.ReceiveAsync(buffer.AsMemory(length, MaxRequestHeadBytes - length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            length += read;
        }

        if (!TryParseRequestLine(buffer.AsSpan(0, end), out var method, out var path))
        {
            return (400, null, ReadOnlyMemory<byte>.Empty, false);
        }

        var head = method == "HEAD";
        if (method != "GET" && !head)
        {
            return (405, null, ReadOnlyMemory<byte>.Empty, false);
        }

        var reply = await _route(path, cancellationToken).ConfigureAwait(false);
        return (reply.Status, reply.ContentType, reply.Body, head);
    }

    /// <summary>Splits "METHOD SP target SP HTTP/1.x"; the target's query string is dropped.</summary>
    internal static bool TryParseRequestLine(ReadOnlySpan<byte> head, out string method, out string path)
    {
        method = string.Empty;
        path = string.Empty;
        var lineEnd = head.IndexOf("\r\n"u8);
        var line = lineEnd < 0 ? head : head[..lineEnd];
        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
        {
            return false;
        }

        var rest = line[(firstSpace + 1)..];
        var secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0 || !rest[(secondSpace + 1)..].StartsWith("HTTP/1."u8))
        {
            return false;
        }

        var target = rest[..secondSpace];
        var query = target.IndexOf((byte)'?');
        if (query >= 0)
        {
            target = target[..query];
        }

        if (target.IsEmpty || target[0] != (byte)'/')
        {
            return false;
        }

        method = Encoding.ASCII.GetString(line[..firstSpace]);
        path = Encoding.ASCII.GetString(target);
        return true;
    }

    private static async ValueTask SendAsync(Socket socket, int status, string? contentType, ReadOnlyMemory<byte> body, bool headOnly, CancellationToken cancellationToken)
    {
        var header = new StringBuilder(160)
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {ReasonPhrase(status)}\r\n");
        if (contentType is not null)
        {
            header.Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\n");
        }

        if (status != 204)
        {
            header.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
        }

        header.Append("Connection: close\r\n\r\n");
        await socket.SendAsync(Encoding.ASCII.GetBytes(header.ToString()), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (!headOnly && status != 204 && body.Length > 0)
        {
            await socket.SendAsync(body, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Unknown",
    };

    /// <summary>Closes the listening socket and waits briefly for requests being answered.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        _socket?.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAny(Task.WhenAll(_inFlight.Values), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Name} over HTTP on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string name, EndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Name} HTTP request not answered: {Reason}")]
    private static partial void LogRequestFailed(ILogger logger, string name, string reason);
}
