using System.Buffers.Binary;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>InitProducerId, idempotent Produce (duplicates, gaps, fencing) and DescribeProducers through the handlers.</summary>
public sealed class IdempotentProduceTests : IDisposable
{
    private readonly HandlerHarness _harness = new();

    public IdempotentProduceTests()
    {
        var created = _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("idem", 1, 1, null, new Dictionary<string, string?>())], false, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
    }

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task InitProducerId_Idempotent_DistinctIdsEpochZeroFromCommittedBlock()
    {
        var first = await InitAsync(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 1000 }, 4);
        var second = await InitAsync(new InitProducerIdRequest { TransactionalId = null, ProducerId = first.ProducerId, ProducerEpoch = 0 }, 4);

        Assert.Equal(ErrorCode.None, (ErrorCode)first.ErrorCode);
        Assert.Equal(ErrorCode.None, (ErrorCode)second.ErrorCode);
        Assert.Equal(0, first.ProducerEpoch);
        Assert.Equal(0, second.ProducerEpoch);
        Assert.NotEqual(first.ProducerId, second.ProducerId);
        Assert.Equal(ProducerIdManager.BlockSize, _harness.Image.NextProducerId);
    }

    [Fact]
    public async Task InitProducerId_BadArguments_KafkaErrors()
    {
        var halfId = await InitAsync(new InitProducerIdRequest { TransactionalId = null, ProducerId = 5, ProducerEpoch = -1 }, 4);
        var transactional = await InitAsync(new InitProducerIdRequest { TransactionalId = "tx-1", TransactionTimeoutMs = 1000 }, 4);

        Assert.Equal(ErrorCode.InvalidRequest, (ErrorCode)halfId.ErrorCode);
        Assert.Equal(ErrorCode.CoordinatorNotAvailable, (ErrorCode)transactional.ErrorCode);
        Assert.Equal(-1, transactional.ProducerId);
    }

    [Fact]
    public async Task ProducerIdManager_NewManagerOnSameMetadata_ContinuesAfterAllocatedBlock()
    {
        var store = new InMemoryMetadataStore(MetadataImage.Empty("c", 1));
        var before = new ProducerIdManager(store, 1, () => 5);
        Assert.Equal(0, await before.NextAsync(CancellationToken.None));
        Assert.Equal(1, await before.NextAsync(CancellationToken.None));

        // A restart loses the in-memory block; the metadata log remembers it was handed out.
        var after = new ProducerIdManager(store, 1, () => 6);
        Assert.Equal(ProducerIdManager.BlockSize, await after.NextAsync(CancellationToken.None));
        Assert.Equal(2 * ProducerIdManager.BlockSize, store.Image.NextProducerId);
    }

    [Fact]
    public async Task Produce_RetriedBatch_SameOffsetStoredOnce_GapRejected_ProducersDescribed()
    {
        var init = await InitAsync(new InitProducerIdRequest { TransactionalId = null }, 4);
        var pid = init.ProducerId;

        var first = await ProduceAsync(Batch(pid, 0, 0, 3));
        var second = await ProduceAsync(Batch(pid, 0, 3, 2));
        var retry = await ProduceAsync(Batch(pid, 0, 0, 3));
        var gap = await ProduceAsync(Batch(pid, 0, 9, 1));
        var bumped = await ProduceAsync(Batch(pid, 1, 0, 1));
        var zombie = await ProduceAsync(Batch(pid, 0, 5, 1));

        Assert.Equal((ErrorCode.None, 0L), first);
        Assert.Equal((ErrorCode.None, 3L), second);
        Assert.Equal((ErrorCode.None, 0L), retry);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, gap.Error);
        Assert.Equal((ErrorCode.None, 5L), bumped);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, zombie.Error);
        Assert.Equal(6, _harness.Components.Services.Replicas.Get("idem", 0)!.Log.LogEndOffset);

        var described = new DescribeProducersResponse();
        var body = await _harness.CallAsync(61, 0, new DescribeProducersRequest
        {
            Topics = [new DescribeProducersRequest.TopicRequest { Name = "idem", PartitionIndexes = [0, 3] }],
        });
        var reader = new KafkaReader(body);
        described.Read(ref reader, 0);
        var partitions = Assert.Single(described.Topics).Partitions;
        var producer = Assert.Single(partitions[0].ActiveProducers);
        Assert.Equal(pid, producer.ProducerId);
        Assert.Equal(1, producer.ProducerEpoch);
        Assert.Equal(0, producer.LastSequence);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (ErrorCode)partitions[1].ErrorCode);
    }

    [Fact]
    public async Task Produce_TransactionalBatch_InvalidTxnStateAndNothingWritten()
    {
        var batch = Batch(42, 0, 0, 2);
        var attributes = BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(RecordBatchHeader.AttributesOffset));
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatchHeader.AttributesOffset), (short)(attributes | 0x10));
        RecordBatchHeader.UpdateCrc(batch);

        var result = await ProduceAsync(batch);

        Assert.Equal(ErrorCode.InvalidTxnState, result.Error);
        Assert.Equal(0, _harness.Components.Services.Replicas.Get("idem", 0)!.Log.LogEndOffset);
    }

    private async Task<InitProducerIdResponse> InitAsync(InitProducerIdRequest request, short version)
    {
        var body = await _harness.CallAsync(22, version, request);
        var response = new InitProducerIdResponse();
        var reader = new KafkaReader(body);
        response.Read(ref reader, version);
        return response;
    }

    private async Task<(ErrorCode Error, long BaseOffset)> ProduceAsync(byte[] batch)
    {
        var request = new ProduceRequest { Acks = -1, TimeoutMs = 1000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "idem",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
        });
        var body = await _harness.CallAsync(0, 9, request);
        var response = new ProduceResponse();
        var reader = new KafkaReader(body);
        response.Read(ref reader, 9);
        var partition = response.Responses[0].PartitionResponses[0];
        return ((ErrorCode)partition.ErrorCode, partition.BaseOffset);
    }

    private static byte[] Batch(long producerId, short epoch, int baseSequence, int count)
    {
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000, null, [(byte)i]);
        }

        var batch = builder.ToArray();
        BinaryPrimitives.WriteInt64BigEndian(batch.AsSpan(RecordBatchHeader.ProducerIdOffset), producerId);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatchHeader.ProducerEpochOffset), epoch);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatchHeader.BaseSequenceOffset), baseSequence);
        RecordBatchHeader.UpdateCrc(batch);
        return batch;
    }
}
