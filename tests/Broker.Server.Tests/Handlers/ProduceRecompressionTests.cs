using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>compression.type on a topic: the leader stores batches with that codec whatever the producer sent.</summary>
public sealed class ProduceRecompressionTests : IDisposable
{
    private readonly HandlerHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Theory]
    [InlineData("gzip", CompressionType.Lz4, CompressionType.Gzip)]
    [InlineData("zstd", CompressionType.None, CompressionType.Zstd)]
    [InlineData("uncompressed", CompressionType.Snappy, CompressionType.None)]
    [InlineData("producer", CompressionType.Lz4, CompressionType.Lz4)]
    [InlineData("lz4", CompressionType.Lz4, CompressionType.Lz4)]
    public async Task Produce_TopicCompressionType_StoredWithThatCodec(string compressionType, CompressionType sent, CompressionType stored)
    {
        var created = await _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("c", 1, 1, null, new Dictionary<string, string?> { ["compression.type"] = compressionType })], false, CancellationToken.None);
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
        using var builder = new RecordBatchBuilder(sent);
        for (var i = 0; i < 20; i++)
        {
            builder.Append(1_700_000_000_000 + i, [(byte)i], new byte[100]);
        }

        var produce = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
        produce.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "c",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = builder.ToArray() }],
        });
        await _harness.CallAsync(0, 9, produce);

        var fetch = new FetchRequest { MaxWaitMs = 0, MaxBytes = 1 << 20 };
        fetch.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = "c",
            Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }],
        });
        var body = await _harness.CallAsync(1, 12, fetch);
        var response = new FetchResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 12);

        var records = response.Responses[0].Partitions[0].Records!.Value;
        Assert.Equal(stored, RecordBatchHeader.Compression(records.Span));
        var read = RecordBatchReader.ReadAll(records);
        Assert.Equal(20, read.Count);
        Assert.Equal(19, read[19].Record.Offset);
        Assert.Equal(new byte[] { 19 }, read[19].Record.KeyToArray());
    }

    [Fact]
    public async Task CreateTopic_UnknownCompressionType_InvalidConfigNamingKey()
    {
        var created = await _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("bad", 1, 1, null, new Dictionary<string, string?> { ["compression.type"] = "brotli" })], false, CancellationToken.None);

        var result = Assert.Single(created);
        Assert.Equal(ErrorCode.InvalidConfig, result.Error);
        Assert.Contains("compression.type", result.Message);
    }
}
