using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broker.Protocol;

namespace Broker.Cluster.Network;

/// <summary>
/// One socket of a <see cref="KafkaClientConnection"/>: the requests written on it, oldest first, and the loop that
/// reads response frames (the canonical Pipelines loop) and hands each to the oldest request after checking its
/// correlation id. Closes for good on the first failure, failing what is in flight. Thread-safe.
/// </summary>
internal sealed class ClientSession
{
    private readonly Lock _lock = new();
    private readonly Queue<PendingRequest> _inFlight = new();
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly int _maxResponseBytes;
    private readonly Action<ClientSession, Exception> _onClosed;
    private Exception? _failure;
    private Task _completion = Task.CompletedTask;

    public ClientSession(Socket socket, EndPoint remoteEndPoint, int maxResponseBytes, Action<ClientSession, Exception> onClosed)
    {
        Socket = socket;
        RemoteEndPoint = remoteEndPoint;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        _maxResponseBytes = maxResponseBytes;
        _onClosed = onClosed;
    }

    public Socket Socket { get; }

    public EndPoint RemoteEndPoint { get; }

    public bool IsOpen => Volatile.Read(ref _failure) is null;

    /// <summary>Completes when the read loop has ended and the socket is closed.</summary>
    public Task Completion => _completion;

    public void Start() => _completion = Task.Run(ReadLoopAsync);

    public bool TryEnqueue(PendingRequest pending)
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                return false;
            }

            _inFlight.Enqueue(pending);
            return true;
        }
    }

    /// <summary>Closes the socket and fails every request in flight with <paramref name="reason"/>; later calls do nothing.</summary>
    public void Fail(Exception reason)
    {
        PendingRequest[] failed;
        lock (_lock)
        {
            if (_failure is not null)
            {
                return;
            }

            _failure = reason;
            failed = [.. _inFlight];
            _inFlight.Clear();
        }

        _input.CancelPendingRead();
        Socket.Dispose();
        foreach (var pending in failed)
        {
            pending.Fail(reason);
        }

        _onClosed(this, reason);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (IsOpen)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                while (true)
                {
                    var status = Framing.TryReadFrame(ref buffer, _maxResponseBytes, out var frame, out var size);
                    if (status == FrameStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == FrameStatus.Invalid)
                    {
                        Fail(new KafkaConnectionException($"Response size {size} from {RemoteEndPoint} is outside 0..{_maxResponseBytes}."));
                        break;
                    }

                    if (!Deliver(frame))
                    {
                        break;
                    }
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    Fail(new KafkaConnectionException($"{RemoteEndPoint} closed the connection."));
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Fail(new KafkaConnectionException($"Reading from {RemoteEndPoint} failed: {e.Message}", e));
        }
        finally
        {
            await _input.CompleteAsync().ConfigureAwait(false);
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    // Copies one response frame into a pooled buffer owned by its request from now on.
    private bool Deliver(ReadOnlySequence<byte> frame)
    {
        PendingRequest? pending;
        lock (_lock)
        {
            _inFlight.TryDequeue(out pending);
        }

        if (pending is null)
        {
            Fail(new KafkaConnectionException($"{RemoteEndPoint} sent a response to no request."));
            return false;
        }

        var length = (int)frame.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        frame.CopyTo(buffer);
        if (!TryReadHeader(buffer.AsMemory(0, length), pending.ResponseHeaderVersion, out var correlationId, out var bodyStart) || correlationId != pending.CorrelationId)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            var error = new KafkaConnectionException(
                $"{RemoteEndPoint} answered correlation id {correlationId} where {pending.CorrelationId} was expected.");
            pending.Fail(error);
            Fail(error);
            return false;
        }

        pending.Deliver(buffer, length, bodyStart);
        return true;
    }

    private static bool TryReadHeader(ReadOnlyMemory<byte> frame, short headerVersion, out int correlationId, out int bodyStart)
    {
        correlationId = -1;
        bodyStart = 0;
        try
        {
            var reader = new KafkaReader(frame);
            correlationId = reader.ReadInt32();
            if (headerVersion >= 1)
            {
                var tags = reader.ReadUnsignedVarInt();
                for (var i = 0u; i < tags; i++)
                {
                    reader.ReadUnsignedVarInt();
                    reader.Skip((int)reader.ReadUnsignedVarInt());
                }
            }

            bodyStart = reader.Position;
            return true;
        }
        catch (KafkaProtocolException)
        {
            return false;
        }
    }
}
