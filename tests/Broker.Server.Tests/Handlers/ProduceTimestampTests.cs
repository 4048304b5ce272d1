using System.Buffers.Binary;
using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>Kafka's produce-time timestamp rules, against a fixed clock.</summary>
public sealed class ProduceTimestampTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private readonly HandlerHarness _harness = new(new FixedTime(Now));

    public ProduceTimestampTests()
    {
        var topics = _harness.Components.Services.Topics;
        var created = topics.CreateTopicsAsync(
        [
            new NewTopic("default", 1, 1, null, new Dictionary<string, string?>()),
            new NewTopic("recent-only", 1, 1, null, new Dictionary<string, string?> { ["message.timestamp.before.max.ms"] = "60000" }),
            new NewTopic("append-time", 1, 1, null, new Dictionary<string, string?> { ["message.timestamp.type"] = "LogAppendTime" }),
        ], false, CancellationToken.None).GetAwaiter().GetResult();
        Assert.All(created, r => Assert.Equal(ErrorCode.None, r.Error));
    }

    public void Dispose() => _harness.Dispose();

    private static long Ms(TimeSpan fromNow) => (Now + fromNow).ToUnixTimeMilliseconds();

    private async Task<(ErrorCode Error, string? Message)> ProduceAsync(string topic, byte[] batch)
    {
        var request = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = topic,
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
        });
        var body = await _harness.CallAsync(0, 9, request);
        var response = new ProduceResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 9);
        var partition = response.Responses[0].PartitionResponses[0];
        return ((ErrorCode)partition.ErrorCode, partition.ErrorMessage);
    }

    private static byte[] Batch(params long[] timestamps)
    {
        using var builder = new RecordBatchBuilder();
        foreach (var ts in timestamps)
        {
            builder.Append(ts, null, [1]);
        }

        return builder.ToArray();
    }

    [Fact]
    public async Task Produce_TimestampOverOneHourAhead_InvalidTimestamp()
    {
        var (error, message) = await ProduceAsync("default", Batch(Ms(TimeSpan.FromMinutes(1)), Ms(TimeSpan.FromHours(2))));

        Assert.Equal(ErrorCode.InvalidTimestamp, error);
        Assert.Contains("out of range", message);
    }

    [Fact]
    public async Task Produce_OldTimestampWithDefaultBeforeLimit_Accepted()
    {
        Assert.Equal(ErrorCode.None, (await ProduceAsync("default", Batch(1_000, Ms(TimeSpan.FromMinutes(59))))).Error);
    }

    [Fact]
    public async Task Produce_OlderThanTopicBeforeMaxMs_InvalidTimestamp_RecentAccepted()
    {
        Assert.Equal(ErrorCode.InvalidTimestamp, (await ProduceAsync("recent-only", Batch(Ms(TimeSpan.FromMinutes(-5))))).Error);
        Assert.Equal(ErrorCode.None, (await ProduceAsync("recent-only", Batch(Ms(TimeSpan.FromSeconds(-30))))).Error);
    }

    [Fact]
    public async Task Produce_RecordsWithoutTimestamp_Accepted()
    {
        Assert.Equal(ErrorCode.None, (await ProduceAsync("recent-only", Batch(-1, -1))).Error);
    }

    [Fact]
    public async Task Produce_ProducerClaimsLogAppendTime_InvalidTimestamp()
    {
        var batch = Batch(Ms(TimeSpan.Zero));
        var attributes = (short)(BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(RecordBatchHeader.AttributesOffset)) | RecordBatchHeader.TimestampTypeMask);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatchHeader.AttributesOffset), attributes);
        RecordBatchHeader.UpdateCrc(batch);

        Assert.Equal(ErrorCode.InvalidTimestamp, (await ProduceAsync("default", batch)).Error);
    }

    [Fact]
    public async Task Produce_FutureTimestampOnLogAppendTimeTopic_AcceptedAndStampedWithBrokerTime()
    {
        var request = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "append-time",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = Batch(Ms(TimeSpan.FromDays(3))) }],
        });

        var body = await _harness.CallAsync(0, 9, request);

        var response = new ProduceResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 9);
        var partition = response.Responses[0].PartitionResponses[0];
        Assert.Equal(0, partition.ErrorCode);
        Assert.Equal(Now.ToUnixTimeMilliseconds(), partition.LogAppendTimeMs);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
