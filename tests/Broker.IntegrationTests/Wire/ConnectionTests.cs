using System.Buffers.Binary;
using System.Diagnostics;
using Broker.Protocol;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Wire;

/// <summary>Connection behaviour: idle timeout, pipelining order, and shutdown with requests in flight.</summary>
[Collection(SerialCollection.Name)]
public sealed class ConnectionTests
{
    private readonly ITestOutputHelper _output;

    public ConnectionTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private const short Fetch = 1;
    private const short ApiVersions = 18;

    [Fact]
    public async Task IdleConnection_ClosedAfterConnectionsMaxIdleMs_ActiveOneKept()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("connections.max.idle.ms", "1000"));
        await using var idle = await WireClient.ConnectAsync(broker.BootstrapServers);
        await using var active = await WireClient.ConnectAsync(broker.BootstrapServers);

        var stopwatch = Stopwatch.StartNew();
        var closed = idle.IsClosedByPeerAsync(TimeSpan.FromSeconds(5));
        while (stopwatch.ElapsedMilliseconds < 2500)
        {
            await active.SendAsync<ApiVersionsResponse>(ApiVersions, 3, new ApiVersionsRequest { ClientSoftwareName = "a", ClientSoftwareVersion = "1" }, 2, 0);
            await Task.Delay(100);
        }

        Assert.True(await closed);
        var response = await active.SendAsync<ApiVersionsResponse>(ApiVersions, 3, new ApiVersionsRequest { ClientSoftwareName = "a", ClientSoftwareVersion = "1" }, 2, 0);
        Assert.Equal(0, response.ErrorCode);
    }

    [Fact]
    public async Task PipelinedRequests_AnsweredInRequestOrder()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        using var writer = new KafkaWriter();
        const int count = 200;
        for (var i = 0; i < count; i++)
        {
            var start = writer.Position;
            var sizeAt = writer.ReserveInt32();
            new RequestHeader { RequestApiKey = ApiVersions, RequestApiVersion = 3, CorrelationId = 1000 + i, ClientId = "p" }.Write(writer, 2);
            new ApiVersionsRequest { ClientSoftwareName = "p", ClientSoftwareVersion = "1" }.Write(writer, 3);
            writer.PatchInt32(sizeAt, writer.Position - start - 4);
        }

        await client.SendRawAsync(writer.WrittenMemory);

        for (var i = 0; i < count; i++)
        {
            var frame = await client.ReadFrameAsync();
            Assert.NotNull(frame);
            Assert.Equal(1000 + i, BinaryPrimitives.ReadInt32BigEndian(frame));
        }
    }

    [Fact]
    public async Task GracefulShutdown_ParkedFetchIsAnswered()
    {
        var broker = await BrokerFixture.StartAsync(_output);
        await using (broker)
        {
            await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
            await BadInputTests.CreateTopicAsync(client, "parked", []);
            var request = new FetchRequest { MaxWaitMs = 30_000, MinBytes = 1, MaxBytes = 1 << 20, SessionEpoch = -1 };
            request.Topics.Add(new FetchRequest.FetchTopic
            {
                Topic = "parked",
                Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }],
            });
            var fetch = client.SendAsync<FetchResponse>(Fetch, 12, request, 2, 1);
            await Task.Delay(300);
            Assert.False(fetch.IsCompleted);

            var stopwatch = Stopwatch.StartNew();
            var stopping = broker.Broker.DisposeAsync().AsTask();
            var response = await fetch;
            await stopping;

            Assert.True(stopwatch.ElapsedMilliseconds < 5000, $"shutdown took {stopwatch.ElapsedMilliseconds} ms");
            var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
            Assert.Equal(0, partition.ErrorCode);
            Assert.True(File.Exists(Path.Combine(broker.LogDir, ".kafka_cleanshutdown")));
        }
    }
}
