using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cli.Perf;

/// <summary>
/// <c>perf fetch</c>: reads one partition from offset 0 to its high watermark with back-to-back Fetch v12
/// requests on one connection, counting records from batch headers only. With no client-side record parsing
/// this measures what the broker serves, where <c>perf consume</c> measures broker plus client.
/// Owned by the calling command; not thread-safe.
/// </summary>
internal sealed class FetchPerf(string bootstrap, string topic, int partition, int maxBytes, TextWriter output)
{
    private const short FetchKey = 1;
    private const short FetchVersion = 12;
    private byte[] _buffer = new byte[1 << 20];
    private int _correlationId;

    public static async Task<int> RunCommandAsync(string bootstrap, string topic, int partition, int maxBytes, TextWriter output, TextWriter error, CancellationToken ct)
    {
        try
        {
            return await new FetchPerf(bootstrap, topic, partition, maxBytes, output).RunAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or KafkaProtocolException)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private async Task<int> RunAsync(CancellationToken ct)
    {
        var separator = bootstrap.LastIndexOf(':');
        using var client = new TcpClient { NoDelay = true, ReceiveBufferSize = 4 << 20 };
        await client.ConnectAsync(bootstrap[..separator], int.Parse(bootstrap[(separator + 1)..], CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
        var stream = client.GetStream();
        using var writer = new KafkaWriter();
        long offset = 0;
        long highWatermark = -1;
        long records = 0;
        long bytes = 0;
        var fetches = 0;
        var stopwatch = Stopwatch.StartNew();
        while (!ct.IsCancellationRequested && (highWatermark < 0 || offset < highWatermark))
        {
            WriteRequest(writer, offset);
            await stream.WriteAsync(writer.WrittenMemory, ct).ConfigureAwait(false);
            var length = await ReadFrameAsync(stream, ct).ConfigureAwait(false);
            var data = Decode(length);
            if (data.ErrorCode != 0)
            {
                throw new IOException($"fetch at offset {offset} failed with error code {data.ErrorCode}");
            }

            highWatermark = data.HighWatermark;
            fetches++;
            var batches = data.Records ?? ReadOnlyMemory<byte>.Empty;
            var span = batches.Span;
            while (span.Length >= RecordBatchHeader.Size && RecordBatchHeader.TotalSize(span) <= span.Length)
            {
                var size = RecordBatchHeader.TotalSize(span);
                records += RecordBatchHeader.LastOffset(span) + 1 - Math.Max(offset, RecordBatchHeader.BaseOffset(span));
                offset = RecordBatchHeader.LastOffset(span) + 1;
                bytes += size;
                span = span[size..];
            }
        }

        var seconds = stopwatch.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{records} records ({bytes / 1048576.0:F2} MB) fetched in {seconds:F2} s with {fetches} fetches: {records / seconds:F1} records/sec ({bytes / 1048576.0 / seconds:F2} MB/sec)."));
        return 0;
    }

    private void WriteRequest(KafkaWriter writer, long offset)
    {
        writer.Reset();
        var sizeAt = writer.ReserveInt32();
        new RequestHeader { RequestApiKey = FetchKey, RequestApiVersion = FetchVersion, CorrelationId = ++_correlationId, ClientId = "perf-fetch" }.Write(writer, 2);
        var request = new FetchRequest { MaxWaitMs = 0, MinBytes = 0, MaxBytes = maxBytes, SessionEpoch = -1 };
        request.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = topic,
            Partitions = [new FetchRequest.FetchPartition { Partition = partition, FetchOffset = offset, PartitionMaxBytes = maxBytes }],
        });
        request.Write(writer, FetchVersion);
        writer.PatchInt32(sizeAt, writer.Position - 4);
    }

    private async Task<int> ReadFrameAsync(NetworkStream stream, CancellationToken ct)
    {
        await stream.ReadExactlyAsync(_buffer.AsMemory(0, 4), ct).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer);
        if (length > _buffer.Length)
        {
            _buffer = new byte[length];
        }

        await stream.ReadExactlyAsync(_buffer.AsMemory(0, length), ct).ConfigureAwait(false);
        return length;
    }

    private FetchResponse.PartitionData Decode(int length)
    {
        var reader = new KafkaReader(_buffer.AsMemory(0, length));
        new ResponseHeader().Read(ref reader, 1);
        var response = new FetchResponse();
        response.Read(ref reader, FetchVersion);
        if (response.ErrorCode != 0)
        {
            throw new IOException($"fetch failed with error code {response.ErrorCode}");
        }

        return response.Responses[0].Partitions[0];
    }
}
