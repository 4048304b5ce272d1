using System.Buffers;
using System.Buffers.Binary;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Wire;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Cluster;

/// <summary>
/// Pipelined acks=all produce requests on one connection: while earlier ones wait for the ISR the leader appends the
/// later ones (their answers deferred), and every answer still leaves in request order, a non-produce request last.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class DeferredProduceAnswerTests
{
    private const short ProduceKey = 0;
    private const short ApiVersionsKey = 18;
    private readonly ITestOutputHelper _output;

    public DeferredProduceAnswerTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task PipelinedAcksAllProduce_LaterBatchesAppendedWhileEarlierWait_AnswersInRequestOrder()
    {
        await using var cluster = await InProcessCluster.StartAsync(_output);
        const string topic = "deferred";
        using (var admin = KafkaClients.Admin(cluster.BootstrapServers, _output))
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3, Configs = new() { ["min.insync.replicas"] = "2" } }],
                new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                .WaitAsync(TimeSpan.FromSeconds(30));
        }

        var leader = cluster.PartitionState(topic).Leader;
        var followers = Enumerable.Range(1, 3).Where(n => n != leader).ToArray();
        await InProcessCluster.WaitUntilAsync(() => cluster.PartitionState(topic).Isr.Length == 3, "the ISR holds all three replicas");

        // With both followers away (still in the ISR) no acks=all produce can be answered.
        foreach (var follower in followers)
        {
            await cluster.StopBrokerAsync(follower);
        }

        const int requests = 20;
        const int recordsEach = 5;
        await using var client = await WireClient.ConnectAsync(cluster.Broker(leader).BootstrapServers);
        await client.SendRawAsync(PipelinedRequests(topic, requests, recordsEach));

        // Every batch reaches the leader's log although none is acknowledged (Kafka would append only the first).
        var log = cluster.Broker(leader).Replicas.Get(topic, 0)!.Log;
        await InProcessCluster.WaitUntilAsync(() => log.LogEndOffset == requests * recordsEach, "every pipelined batch is appended");
        Assert.Equal(0, log.HighWatermark);

        foreach (var follower in followers)
        {
            await cluster.StartBrokerAsync(follower);
        }

        for (var i = 0; i < requests; i++)
        {
            var frame = await client.ReadFrameAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(frame);
            Assert.Equal(1000 + i, BinaryPrimitives.ReadInt32BigEndian(frame));
            var response = WireClient.Decode<ProduceResponse>(frame[5..], 9);
            var partition = response.Responses[0].PartitionResponses[0];
            Assert.Equal((ErrorCode.None, (long)(i * recordsEach)), ((ErrorCode)partition.ErrorCode, partition.BaseOffset));
        }

        var last = await client.ReadFrameAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.NotNull(last);
        Assert.Equal(1000 + requests, BinaryPrimitives.ReadInt32BigEndian(last));
    }

    /// <summary>Produce v9 (acks=all) requests with correlation ids 1000.., then an ApiVersions v3, in one buffer.</summary>
    private static ReadOnlyMemory<byte> PipelinedRequests(string topic, int requests, int recordsEach)
    {
        using var writer = new KafkaWriter();
        for (var i = 0; i <= requests; i++)
        {
            var start = writer.Position;
            var sizeAt = writer.ReserveInt32();
            if (i < requests)
            {
                new RequestHeader { RequestApiKey = ProduceKey, RequestApiVersion = 9, CorrelationId = 1000 + i, ClientId = "deferred" }.Write(writer, 2);
                using var builder = new RecordBatchBuilder();
                for (var r = 0; r < recordsEach; r++)
                {
                    builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, [(byte)i, (byte)r]);
                }

                var batch = new ArrayBufferWriter<byte>();
                builder.WriteTo(batch);
                new ProduceRequest
                {
                    Acks = -1,
                    TimeoutMs = 120_000,
                    TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new() { Index = 0, Records = batch.WrittenMemory.ToArray() }] }],
                }.Write(writer, 9);
            }
            else
            {
                new RequestHeader { RequestApiKey = ApiVersionsKey, RequestApiVersion = 3, CorrelationId = 1000 + i, ClientId = "deferred" }.Write(writer, 2);
                new ApiVersionsRequest { ClientSoftwareName = "deferred", ClientSoftwareVersion = "1" }.Write(writer, 3);
            }

            writer.PatchInt32(sizeAt, writer.Position - start - 4);
        }

        return writer.WrittenMemory.ToArray();
    }
}
