using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Broker.Cluster.Network;

/// <summary>
/// A Kafka client connection to one other node (a broker's fetcher to a leader; the Raft binding will reuse it): sends
/// any generated request at a chosen version and returns the matching response. Requests from several callers are
/// pipelined on one socket and answered in order, as Kafka guarantees per connection. The endpoint is resolved again on
/// every connect (the node may have moved); after a failure the next connect waits reconnect.backoff.ms, doubling up to
/// reconnect.backoff.max.ms. A request without an answer within the request timeout closes the connection (later
/// responses could no longer be matched), failing every request in flight. Thread-safe.
/// </summary>
public sealed partial class KafkaClientConnection : IKafkaRequestSender
{
    private readonly Func<EndPoint?> _resolve;
    private readonly KafkaClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly KafkaWriter _writer = new(16 * 1024);
    private readonly CancellationTokenSource _disposing = new();
    private ClientSession? _session;
    private int _failures;
    private long _nextConnectTimestamp;
    private int _correlationId;
    private bool _disposed;

    /// <param name="resolve">The endpoint to connect to, asked on every connect; null while it is unknown.</param>
    /// <param name="random">Jitter of the reconnect backoff (seeded in tests).</param>
    public KafkaClientConnection(Func<EndPoint?> resolve, KafkaClientOptions options, TimeProvider time, Random random, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        ArgumentNullException.ThrowIfNull(options);
        _resolve = resolve;
        _options = options;
        _time = time;
        _random = random;
        _logger = logger;
    }

    /// <summary>True while a socket is open (a request would not have to connect first).</summary>
    public bool IsConnected => Volatile.Read(ref _session) is { IsOpen: true };

    /// <summary>
    /// Sends <paramref name="request"/> at <paramref name="version"/> and awaits its response. Cancelling stops the wait
    /// only (a request already written cannot be withdrawn; its response is discarded on arrival).
    /// </summary>
    /// <exception cref="KafkaConnectionException">No connection, the connection failed, or the request timed out.</exception>
    public async Task<KafkaResponse<TResponse>> SendAsync<TResponse>(IApiMessage request, short version, CancellationToken cancellationToken)
        where TResponse : IApiMessage, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        var apiKey = (ApiKey)request.ApiKeyValue;
        var pending = new PendingRequest(ApiMessageTypes.ResponseHeaderVersion(apiKey, version), _options.ContinueOnReader);
        ClientSession session;
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            session = Volatile.Read(ref _session) is { IsOpen: true } open ? open : await ConnectAsync(cancellationToken).ConfigureAwait(false);
            pending.CorrelationId = _correlationId = _correlationId == int.MaxValue ? 0 : _correlationId + 1;
            WriteRequest(request, apiKey, version, pending.CorrelationId);
            if (!session.TryEnqueue(pending))
            {
                throw new KafkaConnectionException("The connection closed before the request was sent.");
            }

            try
            {
                // Not cancellable: a half-written frame would corrupt the stream for every other request.
                await session.Socket.SendAsync(_writer.WrittenMemory, SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                session.Fail(new KafkaConnectionException($"Sending to {session.RemoteEndPoint} failed: {e.Message}", e));
            }
        }
        finally
        {
            _sendLock.Release();
        }

        try
        {
            await pending.Task.WaitAsync(TimeSpan.FromMilliseconds(_options.RequestTimeoutMs), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            pending.Abandon();
            var error = new KafkaConnectionException($"{apiKey} v{version} to {session.RemoteEndPoint} timed out after {_options.RequestTimeoutMs} ms");
            session.Fail(error);
            throw error;
        }
        catch (OperationCanceledException)
        {
            pending.Abandon();
            throw;
        }

        return Decode<TResponse>(pending, version, session);
    }

    private static KafkaResponse<TResponse> Decode<TResponse>(PendingRequest pending, short version, ClientSession session)
        where TResponse : IApiMessage, new()
    {
        var buffer = pending.Buffer!;
        try
        {
            var reader = new KafkaReader(buffer.AsMemory(pending.BodyStart, pending.Length - pending.BodyStart));
            var response = new TResponse();
            response.Read(ref reader, version);
            return new KafkaResponse<TResponse>(response, buffer);
        }
        catch (KafkaProtocolException e)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            var error = new KafkaConnectionException($"Malformed response from {session.RemoteEndPoint}: {e.Message}", e);
            session.Fail(error);
            throw error;
        }
    }

    private void WriteRequest(IApiMessage request, ApiKey apiKey, short version, int correlationId)
    {
        var writer = _writer;
        writer.Reset();
        var sizeAt = writer.ReserveInt32();
        writer.WriteInt16((short)apiKey);
        writer.WriteInt16(version);
        writer.WriteInt32(correlationId);

        // Header v1 and v2 both carry the client id as a classic nullable string; v2 adds tagged fields.
        writer.WriteNullableString(_options.ClientId);
        if (ApiMessageTypes.RequestHeaderVersion(apiKey, version) >= 2)
        {
            writer.WriteUnsignedVarInt(0);
        }

        request.Write(writer, version);
        writer.PatchInt32(sizeAt, writer.Position - Framing.SizePrefixLength);
    }

    private async Task<ClientSession> ConnectAsync(CancellationToken cancellationToken)
    {
        var wait = _time.GetElapsedTime(_time.GetTimestamp(), _nextConnectTimestamp);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }

        var endPoint = _resolve();
        if (endPoint is null)
        {
            RecordFailure();
            throw new KafkaConnectionException("The node has no known endpoint.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(_options.RequestTimeoutMs));
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            socket.Dispose();
            RecordFailure();
            LogConnectFailed(endPoint, _failures, e.Message);
            throw new KafkaConnectionException($"Connecting to {endPoint} failed: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _failures = 0;
        var session = new ClientSession(socket, endPoint, _options.MaxResponseBytes, OnSessionClosed);
        Volatile.Write(ref _session, session);
        session.Start();
        LogConnected(endPoint);
        return session;
    }

    // Called from a session's read loop or a failing sender; the next connect waits out the backoff.
    private void OnSessionClosed(ClientSession session, Exception reason)
    {
        if (!_disposing.IsCancellationRequested)
        {
            LogDisconnected(session.RemoteEndPoint, reason.Message);
            RecordFailure();
        }
    }

    private void RecordFailure()
    {
        var failures = Interlocked.Increment(ref _failures);
        double random;
        lock (_random)
        {
            random = _random.NextDouble();
        }

        var backoff = ReconnectBackoff.Compute(failures, _options.ReconnectBackoffMs, _options.ReconnectBackoffMaxMs, random);
        Volatile.Write(ref _nextConnectTimestamp, _time.GetTimestamp() + (long)(backoff.TotalSeconds * _time.TimestampFrequency));
    }

    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync().ConfigureAwait(false);
        await _sendLock.WaitAsync().ConfigureAwait(false);
        ClientSession? session;
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            session = _session;
            _writer.Dispose();
        }
        finally
        {
            _sendLock.Release();
        }

        if (session is not null)
        {
            session.Fail(new ObjectDisposedException(nameof(KafkaClientConnection)));
            await session.Completion.ConfigureAwait(false);
        }

        _disposing.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connected to {EndPoint}")]
    private partial void LogConnected(EndPoint endPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection to {EndPoint} closed: {Reason}")]
    private partial void LogDisconnected(EndPoint endPoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connecting to {EndPoint} failed ({Failures} in a row): {Reason}")]
    private partial void LogConnectFailed(EndPoint endPoint, int failures, string reason);
}
