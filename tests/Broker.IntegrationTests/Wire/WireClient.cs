using System.Buffers.Binary;
using System.Net.Sockets;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.IntegrationTests.Wire;

/// <summary>
/// A minimal Kafka client over a raw socket, built on our own codec, for sending exactly the bytes a
/// test wants (including malformed ones) and reading the broker's answer. Not thread-safe.
/// </summary>
internal sealed class WireClient : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private int _correlationId;

    private WireClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _stream.ReadTimeout = 10_000;
    }

    public static async Task<WireClient> ConnectAsync(string bootstrap)
    {
        var parts = bootstrap.Split(':');
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        return new WireClient(client);
    }

    /// <summary>Sends one request and returns the raw response body (after the response header).</summary>
    public async Task<(int CorrelationId, byte[] Body)> SendAsync(short apiKey, short version, IApiMessage request, short requestHeaderVersion, short responseHeaderVersion)
    {
        await SendWithoutResponseAsync(apiKey, version, request, requestHeaderVersion);
        var frame = await ReadFrameAsync() ?? throw new IOException("Connection closed before a response arrived.");
        var reader = new KafkaReader(frame);
        var responseHeader = new ResponseHeader();
        responseHeader.Read(ref reader, responseHeaderVersion);
        return (responseHeader.CorrelationId, frame[reader.Position..]);
    }

    /// <summary>Sends one request whose answer is none (Produce with acks=0).</summary>
    public async Task SendWithoutResponseAsync(short apiKey, short version, IApiMessage request, short requestHeaderVersion)
    {
        var correlationId = ++_correlationId;
        using var writer = new KafkaWriter();
        var sizeAt = writer.ReserveInt32();
        var header = new RequestHeader
        {
            RequestApiKey = apiKey,
            RequestApiVersion = version,
            CorrelationId = correlationId,
            ClientId = "wire-test",
        };
        header.Write(writer, requestHeaderVersion);
        request.Write(writer, version);
        writer.PatchInt32(sizeAt, writer.Position - 4);
        await SendRawAsync(writer.WrittenMemory);
    }

    public async Task<TResponse> SendAsync<TResponse>(short apiKey, short version, IApiMessage request, short requestHeaderVersion, short responseHeaderVersion)
        where TResponse : IApiMessage, new()
    {
        var (correlationId, body) = await SendAsync(apiKey, version, request, requestHeaderVersion, responseHeaderVersion);
        Assert.Equal(_correlationId, correlationId);
        return Decode<TResponse>(body, version);
    }

    public static TResponse Decode<TResponse>(byte[] body, short version)
        where TResponse : IApiMessage, new()
    {
        var response = new TResponse();
        var reader = new KafkaReader(body);
        response.Read(ref reader, version);
        Assert.Equal(0, reader.Remaining);
        return response;
    }

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Reads one response frame, or null if the broker closed the connection.</summary>
    public async Task<byte[]?> ReadFrameAsync()
    {
        var prefix = new byte[4];
        if (!await ReadExactlyOrEofAsync(prefix))
        {
            return null;
        }

        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        return await ReadExactlyOrEofAsync(body) ? body : throw new IOException("Connection closed inside a response frame.");
    }

    /// <summary>True when the broker closed the connection (EOF or reset) within the timeout.</summary>
    public async Task<bool> IsClosedByPeerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[1];
        try
        {
            var read = await _stream.ReadAsync(buffer, cts.Token);
            return read == 0;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> ReadExactlyOrEofAsync(byte[] buffer)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read), cts.Token);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
