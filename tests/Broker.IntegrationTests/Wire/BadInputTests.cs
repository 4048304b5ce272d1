using System.Buffers.Binary;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Wire;

/// <summary>
/// Bad input on the wire: each case gets Kafka's answer (an error code, or a closed connection where
/// Kafka closes it), other connections keep being served, and data written earlier stays readable.
/// </summary>
public sealed class BadInputTests
{
    private readonly ITestOutputHelper _output;

    public BadInputTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private const short Produce = 0;
    private const short Fetch = 1;
    private const short Metadata = 3;
    private const short ApiVersions = 18;
    private const short CreateTopics = 19;

    [Fact]
    public async Task SizePrefix_AboveSocketRequestMaxBytes_ClosesConnectionBeforeBuffering()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("socket.request.max.bytes", "1024"));
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, 2048);

        // Only the prefix is sent: the broker must decide without waiting for the 2 KiB body.
        await client.SendRawAsync(prefix);

        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
        await AssertStillServingAsync(broker);
    }

    [Theory]
    [InlineData(-5)]
    [InlineData(3)]
    public async Task MalformedFrame_ClosesConnection_OthersServed(int size)
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        var frame = new byte[4 + Math.Max(size, 0)];
        BinaryPrimitives.WriteInt32BigEndian(frame, size);

        await client.SendRawAsync(frame);

        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
        await AssertStillServingAsync(broker);
    }

    [Fact]
    public async Task TruncatedRequestBody_ClosesConnection_OthersServed()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        using var writer = new KafkaWriter();
        var sizeAt = writer.ReserveInt32();
        new RequestHeader { RequestApiKey = Metadata, RequestApiVersion = 12, CorrelationId = 7, ClientId = "t" }.Write(writer, 2);
        writer.WriteUnsignedVarInt(5); // claims four topics, sends none
        writer.PatchInt32(sizeAt, writer.Position - 4);

        await client.SendRawAsync(writer.WrittenMemory);

        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
        await AssertStillServingAsync(broker);
    }

    [Fact]
    public async Task UnknownApiKey_ClosesConnection()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        var frame = new byte[4 + 10];
        BinaryPrimitives.WriteInt32BigEndian(frame, 10);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), 999);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), 0);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), 1);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), -1);

        await client.SendRawAsync(frame);

        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
        await AssertStillServingAsync(broker);
    }

    [Fact]
    public async Task UnsupportedFetchVersion_ClosesConnection()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        using var writer = new KafkaWriter();
        var sizeAt = writer.ReserveInt32();
        new RequestHeader { RequestApiKey = Fetch, RequestApiVersion = 3, CorrelationId = 1, ClientId = "t" }.Write(writer, 1);
        new FetchRequest().Write(writer, 3);
        writer.PatchInt32(sizeAt, writer.Position - 4);

        await client.SendRawAsync(writer.WrittenMemory);

        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ApiVersions_TooNewVersion_AnsweredWithV0UnsupportedVersion()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        using var writer = new KafkaWriter();
        var sizeAt = writer.ReserveInt32();
        new RequestHeader { RequestApiKey = ApiVersions, RequestApiVersion = 77, CorrelationId = 42, ClientId = "t" }.Write(writer, 2);
        writer.WriteRaw([0x05, 0x66, 0x75, 0x74, 0x75, 0x72, 0x65, 0x00]); // a body we must not need to parse
        writer.PatchInt32(sizeAt, writer.Position - 4);

        await client.SendRawAsync(writer.WrittenMemory);
        var frame = await client.ReadFrameAsync();

        Assert.NotNull(frame);
        Assert.Equal(42, BinaryPrimitives.ReadInt32BigEndian(frame)); // response header v0
        var response = WireClient.Decode<ApiVersionsResponse>(frame[4..], 0);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, response.ErrorCode);
        var entry = Assert.Single(response.ApiKeys);
        Assert.Equal(ApiVersions, entry.ApiKey);
        Assert.Equal(0, entry.MinVersion);
        Assert.Equal(4, entry.MaxVersion);
    }

    [Fact]
    public async Task ApiVersions_V3_ListsHandledApisIncludingProduceFromZero()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);

        var response = await client.SendAsync<ApiVersionsResponse>(ApiVersions, 3,
            new ApiVersionsRequest { ClientSoftwareName = "wire-test", ClientSoftwareVersion = "1.0" }, 2, 0);

        Assert.Equal(0, response.ErrorCode);
        var produce = Assert.Single(response.ApiKeys, k => k.ApiKey == Produce);
        Assert.Equal(0, produce.MinVersion);
        Assert.Contains(response.ApiKeys, k => k.ApiKey == Fetch && k.MaxVersion >= 12);
    }

    [Fact]
    public async Task ApiVersions_InvalidClientSoftwareName_InvalidRequest()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);

        var response = await client.SendAsync<ApiVersionsResponse>(ApiVersions, 3,
            new ApiVersionsRequest { ClientSoftwareName = "bad name!", ClientSoftwareVersion = "1.0" }, 2, 0);

        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
        Assert.Empty(response.ApiKeys);
    }

    [Fact]
    public async Task Produce_CorruptCrc_CorruptMessage_EarlierDataIntact()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        await CreateTopicAsync(client, "crc", []);
        var good = TestBatches.Build(1000, (Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("kept")));
        Assert.Equal(ErrorCode.None, await ProduceAsync(client, "crc", good));

        var bad = TestBatches.Build(1000, (null, Encoding.UTF8.GetBytes("lost")));
        bad[^1] ^= 0xFF;
        Assert.Equal(ErrorCode.CorruptMessage, await ProduceAsync(client, "crc", bad));

        var records = await FetchAsync(client, "crc", 0);
        Assert.Equal(good.Length, records.Length);
        Assert.Equal(0, BinaryPrimitives.ReadInt64BigEndian(records));
        Assert.Equal(good.AsSpan(61).ToArray(), records.AsSpan(61).ToArray());
    }

    [Fact]
    public async Task Produce_BatchAboveMaxMessageBytes_MessageTooLarge()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        await CreateTopicAsync(client, "small", [("max.message.bytes", "200")]);

        var big = TestBatches.Build(1000, (null, new byte[500]));

        Assert.Equal(ErrorCode.MessageTooLarge, await ProduceAsync(client, "small", big));
        Assert.Empty(await FetchAsync(client, "small", 0));
    }

    [Fact]
    public async Task Produce_MissingTopicWithAutoCreateOff_UnknownTopicOrPartition()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("auto.create.topics.enable", "false"));
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);

        var batch = TestBatches.Build(1000, (null, new byte[10]));

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, await ProduceAsync(client, "nope", batch));
        var metadata = await client.SendAsync<MetadataResponse>(Metadata, 12,
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = "nope" }], AllowAutoTopicCreation = true }, 2, 1);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(metadata.Topics).ErrorCode);
    }

    [Theory]
    [InlineData("bad name!")]
    [InlineData("..")]
    [InlineData("")]
    public async Task InvalidTopicName_InvalidTopicException_OnMetadataAndCreate(string name)
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);

        var metadata = await client.SendAsync<MetadataResponse>(Metadata, 12,
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = name }], AllowAutoTopicCreation = true }, 2, 1);
        var created = await client.SendAsync<CreateTopicsResponse>(CreateTopics, 7, new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = 1, ReplicationFactor = 1 }],
        }, 2, 1);

        Assert.Equal((short)ErrorCode.InvalidTopicException, Assert.Single(metadata.Topics).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidTopicException, Assert.Single(created.Topics).ErrorCode);
        await AssertStillServingAsync(broker);
    }

    [Fact]
    public async Task Metadata_V11TopicWithoutName_InvalidRequest()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);

        var metadata = await client.SendAsync<MetadataResponse>(Metadata, 11,
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = null, TopicId = Guid.NewGuid() }] }, 2, 1);

        Assert.Equal((short)ErrorCode.InvalidRequest, Assert.Single(metadata.Topics).ErrorCode);
        Assert.Empty(broker.LoggedErrors);
    }

    [Fact]
    public async Task CreateTopics_ExcessivePartitionCount_InvalidPartitionsAndNothingCreated()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);

        var created = await client.SendAsync<CreateTopicsResponse>(CreateTopics, 7, new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = "huge", NumPartitions = 20_000, ReplicationFactor = 1 }],
        }, 2, 1);

        Assert.Equal((short)ErrorCode.InvalidPartitions, Assert.Single(created.Topics).ErrorCode);
        Assert.DoesNotContain("huge", broker.Broker.Metadata.TopicsByName.Keys);
    }

    private static async Task AssertStillServingAsync(BrokerFixture broker)
    {
        await using var other = await WireClient.ConnectAsync(broker.BootstrapServers);
        var response = await other.SendAsync<ApiVersionsResponse>(ApiVersions, 3,
            new ApiVersionsRequest { ClientSoftwareName = "probe", ClientSoftwareVersion = "1" }, 2, 0);
        Assert.Equal(0, response.ErrorCode);
        Assert.NotEmpty(response.ApiKeys);
    }

    internal static async Task CreateTopicAsync(WireClient client, string name, (string Key, string Value)[] configs)
    {
        var topic = new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = 1, ReplicationFactor = 1 };
        foreach (var (key, value) in configs)
        {
            topic.Configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = key, Value = value });
        }

        var response = await client.SendAsync<CreateTopicsResponse>(CreateTopics, 7, new CreateTopicsRequest { Topics = [topic] }, 2, 1);
        Assert.Equal(0, Assert.Single(response.Topics).ErrorCode);
    }

    internal static async Task<ErrorCode> ProduceAsync(WireClient client, string topic, byte[] batch)
    {
        var request = new ProduceRequest { Acks = -1, TimeoutMs = 5000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = topic,
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
        });
        var response = await client.SendAsync<ProduceResponse>(Produce, 9, request, 2, 1);
        return (ErrorCode)Assert.Single(Assert.Single(response.Responses).PartitionResponses).ErrorCode;
    }

    internal static async Task<byte[]> FetchAsync(WireClient client, string topic, long offset)
    {
        var request = new FetchRequest { MaxWaitMs = 0, MinBytes = 0, MaxBytes = 1 << 20, SessionEpoch = -1 };
        request.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = topic,
            Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = offset, PartitionMaxBytes = 1 << 20 }],
        });
        var response = await client.SendAsync<FetchResponse>(Fetch, 12, request, 2, 1);
        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(0, partition.ErrorCode);
        return partition.Records?.ToArray() ?? [];
    }
}
