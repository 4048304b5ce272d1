using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Observability;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Network;

/// <summary>A socket to bind: listener name (as in listeners=NAME://host:port), host and port, and whether it is one of
/// <c>controller.listener.names</c> (served the controller's APIs instead of the broker's).</summary>
public sealed record ListenerEndpoint(string Name, string Host, int Port, bool Controller = false);

/// <summary>Limits applied to every connection.</summary>
internal sealed record ConnectionOptions(int MaxRequestBytes, long IdleTimeoutMs);

/// <summary>
/// Accepts connections on every listener and runs one <see cref="KafkaConnection"/> per socket. Stopping
/// closes the listening sockets first, then lets each connection finish the requests it already
/// received. Thread-safe.
/// </summary>
internal sealed class KafkaSocketServer : IAsyncDisposable
{
    private readonly RequestDispatcher _dispatcher;
    private readonly ConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BrokerMetrics? _metrics;
    private readonly List<(ListenerEndpoint Listener, Socket Socket)> _sockets = [];
    private readonly ConcurrentDictionary<long, Task> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _acceptLoops = [];
    private long _nextConnectionId;

    public KafkaSocketServer(RequestDispatcher dispatcher, ConnectionOptions options, TimeProvider time, ILogger logger, BrokerMetrics? metrics = null)
    {
        _dispatcher = dispatcher;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
    }

    /// <summary>Connections currently open, across all listeners.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Token cancelled when the server starts stopping; long waits (fetch) end early on it.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>The bound endpoints (port 0 in config resolves to the ephemeral port here).</summary>
    public IReadOnlyList<(string Listener, IPEndPoint EndPoint)> BoundEndpoints
    {
        get
        {
            var list = new List<(string, IPEndPoint)>(_sockets.Count);
            foreach (var (listener, socket) in _sockets)
            {
                list.Add((listener.Name, (IPEndPoint)socket.LocalEndPoint!));
            }

            return list;
        }
    }

    public void Start(IReadOnlyList<ListenerEndpoint> listeners)
    {
        foreach (var listener in listeners)
        {
            var address = ResolveBindAddress(listener.Host);
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(address, listener.Port));
            socket.Listen(512);
            _sockets.Add((listener, socket));
            ServerLog.Listening(_logger, listener.Name, socket.LocalEndPoint!);
        }

        foreach (var (listener, socket) in _sockets)
        {
            _acceptLoops.Add(AcceptLoopAsync(listener, socket));
        }
    }

    internal static IPAddress ResolveBindAddress(string host)
    {
        if (string.IsNullOrEmpty(host) || host == "0.0.0.0")
        {
            return IPAddress.Any;
        }

        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            return ip;
        }

        // A host name binds to its first address, as Kafka does.
        return Dns.GetHostAddresses(host)[0];
    }

    private async Task AcceptLoopAsync(ListenerEndpoint listener, Socket listenSocket)
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

            socket.NoDelay = true;
            var id = Interlocked.Increment(ref _nextConnectionId);
            ServerLog.Accepted(_logger, id, socket.RemoteEndPoint, listener.Name);
            var kind = listener.Controller ? ApiListeners.Controller : ApiListeners.Broker;
            var connection = new KafkaConnection(socket, id, listener.Name, kind, _dispatcher.ForListener(kind), _options, _logger, _stopping.Token, _metrics);
            var run = RunConnectionAsync(connection);
            _connections[id] = run;
        }
    }

    private async Task RunConnectionAsync(KafkaConnection connection)
    {
        // Yield so the accept loop is not held up by the first read.
        await Task.Yield();
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            _connections.TryRemove(connection.Id, out _);
            ServerLog.Closed(_logger, connection.Id);
        }
    }

    /// <summary>Stops accepting, then waits (up to <paramref name="timeout"/>) for connections to drain.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        foreach (var (_, socket) in _sockets)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        var draining = Task.WhenAll(_connections.Values);
        await Task.WhenAny(draining, Task.Delay(timeout, _time)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
