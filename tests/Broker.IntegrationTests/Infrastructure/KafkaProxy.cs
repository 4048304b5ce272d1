using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>One record batch seen in a Produce request passing through the proxy.</summary>
internal sealed record ProxiedBatch(int Connection, int CorrelationId, string Topic, int Partition, long ProducerId, short Epoch, int BaseSequence, int Records)
{
    /// <summary>The broker's answer to the request carrying this batch was swallowed.</summary>
    public bool ResponseDropped { get; set; }
}

/// <summary>
/// A TCP proxy between Kafka clients and a broker that understands framing: it notes which API each request is and
/// which batches Produce requests carry, and on demand swallows a Produce response and cuts the connection, as a
/// network failure after the broker wrote would. The client cannot know whether its batch was written and retries
/// it. Brokers under test advertise the proxy's port so clients never bypass it. Thread-safe.
/// </summary>
internal sealed class KafkaProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly ConcurrentQueue<ProxiedBatch> _batches = new();
    private readonly Task _acceptLoop;
    private volatile IPEndPoint? _target;
    private int _dropProduceResponses;
    private int _nextConnection;
    private TaskCompletionSource _dropped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private KafkaProxy()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Where connections go; null refuses them (accepted, then closed), like a broker that is down.</summary>
    public IPEndPoint? Target
    {
        get => _target;
        set => _target = value;
    }

    /// <summary>When set, the target is cleared as a response is dropped, so the client cannot reconnect until a test allows it.</summary>
    public bool RefuseAfterDrop { get; set; }

    public IReadOnlyCollection<ProxiedBatch> Batches => [.. _batches];

    /// <summary>Completes when a response is swallowed.</summary>
    public Task Dropped => Volatile.Read(ref _dropped).Task;

    public static KafkaProxy Start() => new();

    /// <summary>Swallows the next <paramref name="count"/> Produce responses, cutting each one's connection.</summary>
    public void DropNextProduceResponses(int count)
    {
        Volatile.Write(ref _dropped, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Volatile.Write(ref _dropProduceResponses, count);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping.
        }

        await Task.WhenAll(_connections.ToArray());
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _connections.Add(Task.Run(() => ServeAsync(client, Interlocked.Increment(ref _nextConnection))));
        }
    }

    private async Task ServeAsync(TcpClient client, int connection)
    {
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        using var upstream = new TcpClient();
        try
        {
            using (client)
            {
                if (_target is not { } target)
                {
                    return;
                }

                await upstream.ConnectAsync(target, cut.Token);
                client.NoDelay = true;
                upstream.NoDelay = true;
                var inFlight = new ConcurrentDictionary<int, (short ApiKey, List<ProxiedBatch> Batches)>();
                var requests = PumpRequestsAsync(client.GetStream(), upstream.GetStream(), connection, inFlight, cut);
                var responses = PumpResponsesAsync(upstream.GetStream(), client.GetStream(), inFlight, cut);
                await Task.WhenAny(requests, responses);
                await cut.CancelAsync();
                await Task.WhenAll(requests, responses);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // A side closed or the proxy is stopping: the connection ends, as a real one would.
        }
    }

    private async Task PumpRequestsAsync(NetworkStream from, NetworkStream to, int connection,
        ConcurrentDictionary<int, (short ApiKey, List<ProxiedBatch> Batches)> inFlight, CancellationTokenSource cut)
    {
        try
        {
            while (await ReadFrameAsync(from, cut.Token) is { } frame)
            {
                var apiKey = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(4));
                var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(6));
                var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(8));
                var batches = apiKey == (short)ApiKey.Produce ? ProducedBatches(frame, version, connection, correlationId) : [];
                inFlight[correlationId] = (apiKey, batches);
                await to.WriteAsync(frame, cut.Token);
            }
        }
        finally
        {
            await cut.CancelAsync();
        }
    }

    private async Task PumpResponsesAsync(NetworkStream from, NetworkStream to,
        ConcurrentDictionary<int, (short ApiKey, List<ProxiedBatch> Batches)> inFlight, CancellationTokenSource cut)
    {
        try
        {
            while (await ReadFrameAsync(from, cut.Token) is { } frame)
            {
                var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4));
                if (inFlight.TryRemove(correlationId, out var request) && request.ApiKey == (short)ApiKey.Produce && TryTakeDrop())
                {
                    foreach (var batch in request.Batches)
                    {
                        batch.ResponseDropped = true;
                    }

                    if (RefuseAfterDrop)
                    {
                        _target = null;
                    }

                    Volatile.Read(ref _dropped).TrySetResult();
                    return;
                }

                await to.WriteAsync(frame, cut.Token);
            }
        }
        finally
        {
            await cut.CancelAsync();
        }
    }

    private bool TryTakeDrop()
    {
        while (true)
        {
            var remaining = Volatile.Read(ref _dropProduceResponses);
            if (remaining <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _dropProduceResponses, remaining - 1, remaining) == remaining)
            {
                return true;
            }
        }
    }

    private List<ProxiedBatch> ProducedBatches(byte[] frame, short version, int connection, int correlationId)
    {
        var result = new List<ProxiedBatch>();
        var reader = new KafkaReader(frame.AsMemory(4));
        new RequestHeader().Read(ref reader, ApiMessageTypes.RequestHeaderVersion(ApiKey.Produce, version));
        var request = new ProduceRequest();
        request.Read(ref reader, version);
        foreach (var topic in request.TopicData)
        {
            foreach (var partition in topic.PartitionData)
            {
                if (partition.Records is { Length: >= RecordBatchHeader.Size } records)
                {
                    var header = records.Span;
                    var batch = new ProxiedBatch(connection, correlationId, topic.Name, partition.Index, RecordBatchHeader.ProducerId(header),
                        RecordBatchHeader.ProducerEpoch(header), RecordBatchHeader.BaseSequence(header), RecordBatchHeader.RecordsCount(header));
                    result.Add(batch);
                    _batches.Enqueue(batch);
                }
            }
        }

        return result;
    }

    /// <summary>A whole frame, size prefix included; null at a clean end of stream.</summary>
    private static async Task<byte[]?> ReadFrameAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var size = new byte[4];
        if (await stream.ReadAtLeastAsync(size, 4, throwOnEndOfStream: false, cancellationToken) < 4)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(size);
        var frame = new byte[4 + length];
        size.CopyTo(frame, 0);
        await stream.ReadExactlyAsync(frame.AsMemory(4), cancellationToken);
        return frame;
    }
}
