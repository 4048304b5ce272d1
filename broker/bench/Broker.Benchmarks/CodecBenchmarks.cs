using BenchmarkDotNet.Attributes;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Benchmarks;

/// <summary>
/// The generated codec on the two hot messages: decoding a Produce request (records stay a slice of the
/// frame, so cost is per request, not per record) and encoding a Fetch response around 1 MiB of records.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private byte[] _produceFrame = [];
    private FetchResponse _fetch = new();
    private KafkaWriter _writer = new();

    [GlobalSetup]
    public void Setup()
    {
        using var builder = new RecordBatchBuilder();
        var value = new byte[100];
        for (var i = 0; i < 1000; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, value);
        }

        var batch = builder.ToArray();
        var request = new ProduceRequest { Acks = 1, TimeoutMs = 30000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "perf",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
        });
        using var writer = new KafkaWriter();
        request.Write(writer, 9);
        _produceFrame = writer.WrittenSpan.ToArray();

        var records = new byte[1 << 20];
        _fetch = new FetchResponse();
        _fetch.Responses.Add(new FetchResponse.FetchableTopicResponse
        {
            Topic = "perf",
            Partitions = [new FetchResponse.PartitionData { PartitionIndex = 0, HighWatermark = 1000, Records = records }],
        });
        _writer = new KafkaWriter(2 << 20);
    }

    [GlobalCleanup]
    public void Cleanup() => _writer.Dispose();

    [Benchmark]
    public int DecodeProduceRequestV9()
    {
        var request = new ProduceRequest();
        var reader = new KafkaReader(_produceFrame);
        request.Read(ref reader, 9);
        return request.TopicData.Count;
    }

    [Benchmark]
    public int EncodeFetchResponseV12With1MiB()
    {
        _writer.Reset();
        _fetch.Write(_writer, 12);
        return _writer.Position;
    }
}
