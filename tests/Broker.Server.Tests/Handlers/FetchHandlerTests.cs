using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>Fetch semantics that clients depend on: sessions, size limits (KIP-74) and offset range.</summary>
public sealed class FetchHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new();
    private readonly int _batchSize;

    public FetchHandlerTests()
    {
        _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("f", 2, 1, null, new Dictionary<string, string?>())], false, CancellationToken.None).GetAwaiter().GetResult();
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < 50; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, new byte[100]);
        }

        var batch = builder.ToArray();
        _batchSize = batch.Length;
        foreach (var partition in new[] { 0, 1 })
        {
            var produce = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
            produce.TopicData.Add(new ProduceRequest.TopicProduceData
            {
                Name = "f",
                PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = batch.ToArray() }],
            });
            _harness.CallAsync(0, 9, produce).GetAwaiter().GetResult();
        }
    }

    public void Dispose() => _harness.Dispose();

    private async Task<FetchResponse> FetchAsync(FetchRequest request, short version = 12)
    {
        var body = await _harness.CallAsync(1, version, request);
        var response = new FetchResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        return response;
    }

    private static FetchRequest Request(int maxBytes, int partitionMaxBytes, long offset = 0, int sessionId = 0, int sessionEpoch = -1)
    {
        var request = new FetchRequest { MaxWaitMs = 0, MinBytes = 0, MaxBytes = maxBytes, SessionId = sessionId, SessionEpoch = sessionEpoch };
        request.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = "f",
            Partitions =
            [
                new FetchRequest.FetchPartition { Partition = 0, FetchOffset = offset, PartitionMaxBytes = partitionMaxBytes },
                new FetchRequest.FetchPartition { Partition = 1, FetchOffset = offset, PartitionMaxBytes = partitionMaxBytes },
            ],
        });
        return request;
    }

    [Fact]
    public async Task Fetch_IncrementalSession_FetchSessionIdNotFound()
    {
        var response = await FetchAsync(Request(1 << 20, 1 << 20, sessionId: 7, sessionEpoch: 3));

        Assert.Equal((short)ErrorCode.FetchSessionIdNotFound, response.ErrorCode);
        Assert.Equal(0, response.SessionId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task Fetch_FullRequest_SessionIdZeroAndData(int sessionEpoch)
    {
        var response = await FetchAsync(Request(1 << 20, 1 << 20, sessionEpoch: sessionEpoch));

        Assert.Equal(0, response.ErrorCode);
        Assert.Equal(0, response.SessionId);
        Assert.All(response.Responses[0].Partitions, p => Assert.Equal(_batchSize, p.Records!.Value.Length));
    }

    [Fact]
    public async Task Fetch_FirstBatchLargerThanLimits_ReturnedWholeThenLimitsAreHard()
    {
        var response = await FetchAsync(Request(maxBytes: 10, partitionMaxBytes: 10));

        var partitions = response.Responses[0].Partitions;
        Assert.Equal(_batchSize, partitions[0].Records!.Value.Length);
        Assert.Equal(0, partitions[1].Records!.Value.Length);
        Assert.Equal(50, partitions[1].HighWatermark);
    }

    [Fact]
    public async Task Fetch_BeyondLogEnd_OffsetOutOfRange_AtEnd_Empty()
    {
        var beyond = await FetchAsync(Request(1 << 20, 1 << 20, offset: 51));
        var atEnd = await FetchAsync(Request(1 << 20, 1 << 20, offset: 50));

        Assert.All(beyond.Responses[0].Partitions, p => Assert.Equal((short)ErrorCode.OffsetOutOfRange, p.ErrorCode));
        Assert.All(atEnd.Responses[0].Partitions, p =>
        {
            Assert.Equal(0, p.ErrorCode);
            Assert.Equal(0, p.Records!.Value.Length);
        });
    }

    [Fact]
    public async Task Fetch_ByTopicIdAtV13_UnknownIdReported()
    {
        var request = Request(1 << 20, 1 << 20);
        request.Topics[0].Topic = string.Empty;
        request.Topics[0].TopicId = Guid.NewGuid();

        var response = await FetchAsync(request, 13);

        Assert.All(response.Responses[0].Partitions, p => Assert.Equal((short)ErrorCode.UnknownTopicId, p.ErrorCode));
    }
}
