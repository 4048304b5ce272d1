using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Server.Handlers;
using Broker.Server.Observability;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Network;

/// <summary>
/// One client connection: the canonical System.IO.Pipelines loop on input (ReadAsync, slice whole frames,
/// AdvanceTo(consumed, examined)). Requests are handled one after another and answered in request order,
/// as Kafka does; frames that arrive while one is being handled wait in the pipe, and the socket's
/// receive window provides backpressure. One exception, as in Redpanda: an acks=all produce whose records are
/// appended and which only waits for the ISR does not hold up the produce requests behind it (see
/// KafkaConnection.DeferredAnswers.cs); answers still leave in request order. Output is not copied into a
/// pipe: responses accumulate in one pooled writer whose large record fields are spliced, and a flush is one
/// gather send, so fetched records go from their read buffer to the socket without further copies. Owned by
/// its own loop; not thread-safe.
/// </summary>
internal sealed partial class KafkaConnection : IAsyncDisposable
{
    // Kafka's fixed request prefix: api key, api version, correlation id.
    private const int FixedHeaderBytes = 8;
    private const int FlushThresholdBytes = 256 * 1024;

    // Record fields at least this large (fetch responses) are sent from their own buffers.
    private const int SpliceThresholdBytes = 8 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly string _listenerName;
    private readonly ApiListeners _listenerKind;
    private readonly RequestDispatcher _dispatcher;
    private readonly ConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationToken _serverStopping;
    private readonly BrokerMetrics? _metrics;
    private readonly KafkaWriter _writer = new(64 * 1024) { SpliceThreshold = SpliceThresholdBytes };
    private readonly List<ArraySegment<byte>> _segments = [];
    private readonly List<byte[]> _sentBuffers = [];
    private readonly EndPoint? _remote;
    private bool _outputBroken;

    public KafkaConnection(
        Socket socket,
        long id,
        string listenerName,
        ApiListeners listenerKind,
        RequestDispatcher dispatcher,
        ConnectionOptions options,
        ILogger logger,
        CancellationToken serverStopping,
        BrokerMetrics? metrics = null)
    {
        _socket = socket;
        Id = id;
        _remote = socket.RemoteEndPoint;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        _listenerName = listenerName;
        _listenerKind = listenerKind;
        _dispatcher = dispatcher;
        _options = options;
        _logger = logger;
        _serverStopping = serverStopping;
        _metrics = metrics;
    }

    public long Id { get; }

    public async Task RunAsync()
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_serverStopping);
        try
        {
            while (true)
            {
                if (_options.IdleTimeoutMs > 0)
                {
                    idle.CancelAfter(TimeSpan.FromMilliseconds(_options.IdleTimeoutMs));
                }

                ReadResult result;
                try
                {
                    if (_deferred.Count == 0)
                    {
                        result = await _input.ReadAsync(idle.Token).ConfigureAwait(false);
                    }
                    else if (await ReadWhileAnsweringAsync(idle.Token).ConfigureAwait(false) is { } read)
                    {
                        result = read;
                    }
                    else
                    {
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    if (!_serverStopping.IsCancellationRequested)
                    {
                        ServerLog.IdleTimeout(_logger, Id, _options.IdleTimeoutMs);
                    }

                    return;
                }

                var buffer = result.Buffer;
                var keepOpen = true;
                while (keepOpen)
                {
                    var status = Framing.TryReadFrame(ref buffer, _options.MaxRequestBytes, out var frame, out var size);
                    if (status == FrameStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == FrameStatus.Invalid)
                    {
                        ServerLog.ClosingBadRequest(_logger, Id, _remote,
                            $"request size {size} is outside 0..{_options.MaxRequestBytes} (socket.request.max.bytes)");
                        keepOpen = false;
                        break;
                    }

                    keepOpen = await ProcessFrameAsync(frame, buffer).ConfigureAwait(false);
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (keepOpen && _deferred.Count > 0)
                {
                    // The client may have sent its last request: answers still owed go out once ready.
                    keepOpen = await WriteDeferredAsync(wait: result.IsCompleted).ConfigureAwait(false);
                }

                await FlushAsync().ConfigureAwait(false);
                if (!keepOpen || result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            ServerLog.SocketError(_logger, Id, e.Message);
        }
    }

    /// <summary>Sends every buffered response in one gather send, then releases the buffers they referenced.</summary>
    private async ValueTask FlushAsync()
    {
        if (_writer.Position == 0)
        {
            return;
        }

        try
        {
            if (!_outputBroken)
            {
                _segments.Clear();
                _writer.GetSegments(_segments);
                await _socket.SendAsync(_segments, SocketFlags.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _writer.Reset();
            foreach (var buffer in _sentBuffers)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            _sentBuffers.Clear();
        }
    }

    /// <summary>Handles one frame; returns false when the connection must be closed (as Kafka closes it).</summary>
    private async ValueTask<bool> ProcessFrameAsync(ReadOnlySequence<byte> frame, ReadOnlySequence<byte> rest)
    {
        var length = (int)frame.Length;
        if (length < FixedHeaderBytes)
        {
            ServerLog.ClosingBadRequest(_logger, Id, _remote, $"request of {length} bytes is too short for a header");
            return false;
        }

        // The frame is copied once into a pooled array: handlers decode from it and produce appends
        // rewrite batch headers in it, with no further copies.
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            frame.CopyTo(buffer);
            var memory = buffer.AsMemory(0, length);
            var apiKey = BinaryPrimitives.ReadInt16BigEndian(buffer);
            var apiVersion = BinaryPrimitives.ReadInt16BigEndian(buffer.AsSpan(2));
            var correlationId = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(4));

            var handler = _dispatcher.Find(apiKey);
            if (handler is null)
            {
                ServerLog.ClosingBadRequest(_logger, Id, _remote, $"unknown API key {apiKey}");
                return false;
            }

            if (apiVersion < handler.MinVersion || apiVersion > handler.MaxVersion)
            {
                if (apiKey == ApiVersionsHandler.Key)
                {
                    // KIP-511: answer a too-new ApiVersions with a v0 error body so the client can retry.
                    WriteResponse(correlationId, 0, 0, ApiVersionsHandler.UnsupportedVersionResponse(handler));
                    return true;
                }

                ServerLog.ClosingBadRequest(_logger, Id, _remote, $"unsupported version {apiVersion} of API key {apiKey}");
                return false;
            }

            if (!TryReadHeader(memory, apiKey, apiVersion, out var clientId, out var bodyStart, out var headerError))
            {
                ServerLog.ClosingBadRequest(_logger, Id, _remote, headerError);
                return false;
            }

            var context = new RequestContext(apiKey, apiVersion, correlationId, clientId, _listenerName, _remote, Id) { ListenerKind = _listenerKind };
            var started = _metrics?.RequestStarted() ?? 0;
            if (_deferred.Count > 0 && apiKey != ProduceApiKey && !await WriteDeferredAsync(wait: true).ConfigureAwait(false))
            {
                return false;
            }

            IApiMessage? response;
            try
            {
                var pending = handler.HandleAsync(context, memory[bodyStart..], _serverStopping);
                if (TryDefer(context, pending, started))
                {
                    return _deferred.Count <= MaxDeferred || await WriteDeferredAsync(wait: false).ConfigureAwait(false);
                }

                if (_deferred.Count > 0 && !await WriteDeferredAsync(wait: true).ConfigureAwait(false))
                {
                    return false;
                }

                if (!pending.IsCompleted && _writer.Position > 0)
                {
                    // Don't hold earlier responses back while this request waits (fetch long polling).
                    await FlushAsync().ConfigureAwait(false);
                }

                response = await pending.ConfigureAwait(false);
                _metrics?.RequestCompleted(apiKey, started);
            }
            catch (KafkaProtocolException e)
            {
                context.ReturnResponseBuffers();
                ServerLog.ClosingBadRequest(_logger, Id, _remote, $"malformed {apiKey} v{apiVersion} request: {e.Message}");
                return false;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                context.ReturnResponseBuffers();
                ServerLog.HandlerFailed(_logger, e, apiKey, apiVersion, Id);
                return false;
            }

            if (!WriteAnswer(context, response))
            {
                return false;
            }

            if (_writer.Position >= FlushThresholdBytes || !HasCompleteFrame(rest))
            {
                await FlushAsync().ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool HasCompleteFrame(ReadOnlySequence<byte> rest)
    {
        if (rest.Length < Framing.SizePrefixLength)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[Framing.SizePrefixLength];
        rest.Slice(0, Framing.SizePrefixLength).CopyTo(prefix);
        return rest.Length - Framing.SizePrefixLength >= BinaryPrimitives.ReadInt32BigEndian(prefix);
    }

    private static bool TryReadHeader(ReadOnlyMemory<byte> frame, short apiKey, short apiVersion, out string? clientId, out int bodyStart, out string error)
    {
        try
        {
            var reader = new KafkaReader(frame);
            var header = new RequestHeader();
            header.Read(ref reader, ApiMessageTypes.RequestHeaderVersion((ApiKey)apiKey, apiVersion));
            clientId = header.ClientId;
            bodyStart = reader.Position;
            error = string.Empty;
            return true;
        }
        catch (KafkaProtocolException e)
        {
            clientId = null;
            bodyStart = 0;
            error = $"malformed request header: {e.Message}";
            return false;
        }
    }

    /// <summary>Appends a handler's answer to the output (none for a null response); false when the connection must close.</summary>
    private bool WriteAnswer(RequestContext context, IApiMessage? response)
    {
        if (response is null)
        {
            context.ReturnResponseBuffers();
            return !context.CloseConnection;
        }

        try
        {
            WriteResponse(context.CorrelationId, ApiMessageTypes.ResponseHeaderVersion((ApiKey)context.ApiKey, context.ApiVersion), context.ApiVersion, response);
            return true;
        }
        catch (Exception e) when (e is UnsupportedVersionException or InvalidOperationException)
        {
            // A handler filled a field this version cannot carry: a bug, reported loudly. The partial
            // response must never reach the client, so nothing more is sent on this connection.
            _outputBroken = true;
            ServerLog.HandlerFailed(_logger, e, context.ApiKey, context.ApiVersion, Id);
            return false;
        }
        finally
        {
            // Spliced record buffers live until the flush that sends them.
            context.MoveResponseBuffersTo(_sentBuffers);
        }
    }

    /// <summary>Appends one framed response to the output; it leaves with the next flush.</summary>
    private void WriteResponse(int correlationId, short headerVersion, short apiVersion, IApiMessage response)
    {
        var writer = _writer;
        var start = writer.Position;
        var sizeAt = writer.ReserveInt32();
        writer.WriteInt32(correlationId);
        if (headerVersion >= 1)
        {
            writer.WriteUnsignedVarInt(0);
        }

        response.Write(writer, apiVersion);
        writer.PatchInt32(sizeAt, writer.Position - start - Framing.SizePrefixLength);
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync().ConfigureAwait(false);
        foreach (var buffer in _sentBuffers)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _sentBuffers.Clear();

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed by the peer.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _writer.Dispose();
    }
}
