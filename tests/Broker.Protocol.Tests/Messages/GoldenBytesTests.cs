using Broker.Protocol.Messages;

namespace Broker.Protocol.Tests.Messages;

/// <summary>Encodings computed by hand from the wire rules (kafka-reference.md §1), checked in both directions.</summary>
public sealed class GoldenBytesTests
{
    [Fact]
    public void ApiVersionsRequest_V3WithClientSoftware_CompactStringsAndEmptyTags()
    {
        var request = new ApiVersionsRequest { ClientSoftwareName = "librdkafka", ClientSoftwareVersion = "2.15.0" };

        AssertEncodes(request, 3, "0B 6C69627264 6B61666B61 07 322E31352E30 00");
        var decoded = Decode<ApiVersionsRequest>("0B 6C69627264 6B61666B61 07 322E31352E30 00", 3);
        Assert.Equal("librdkafka", decoded.ClientSoftwareName);
        Assert.Equal("2.15.0", decoded.ClientSoftwareVersion);
    }

    [Fact]
    public void ApiVersionsRequest_V0_EmptyBodyAndIgnorableFieldsDropped()
    {
        var request = new ApiVersionsRequest { ClientSoftwareName = "librdkafka" };

        AssertEncodes(request, 0, "");
    }

    [Fact]
    public void MetadataRequest_V12OneTopic_UuidCompactNullableNameAndFlags()
    {
        var request = new MetadataRequest
        {
            Topics = [new MetadataRequest.MetadataRequestTopic { Name = "orders" }],
            IncludeTopicAuthorizedOperations = true,
        };

        // Topics: compact count 1+1; TopicId 16 zero bytes; Name "orders"; element tags. AllowAutoTopicCreation
        // (default true), IncludeTopicAuthorizedOperations; IncludeClusterAuthorizedOperations is v8-10 only.
        const string Expected = "02 00000000000000000000000000000000 07 6F7264657273 00 01 01 00";
        AssertEncodes(request, 12, Expected);
        var decoded = Decode<MetadataRequest>(Expected, 12);
        Assert.Equal("orders", Assert.Single(decoded.Topics!).Name);
        Assert.True(decoded.AllowAutoTopicCreation);
    }

    [Fact]
    public void MetadataRequest_V1NullTopics_MinusOneCount()
    {
        AssertEncodes(new MetadataRequest { Topics = null }, 1, "FFFFFFFF");
        Assert.Null(Decode<MetadataRequest>("FFFFFFFF", 1).Topics);
    }

    [Fact]
    public void RequestHeader_V2_ClientIdKeepsInt16LengthThenTags()
    {
        var header = new RequestHeader { RequestApiKey = 3, RequestApiVersion = 12, CorrelationId = 7, ClientId = "rdkafka" };

        AssertEncodes(header, 2, "0003 000C 00000007 0007 72646B61666B61 00");
    }

    [Fact]
    public void RequestHeader_V1NullClientId_MinusOneLength()
    {
        var header = new RequestHeader { RequestApiKey = 18, RequestApiVersion = 0, CorrelationId = 1, ClientId = null };

        AssertEncodes(header, 1, "0012 0000 00000001 FFFF");
        Assert.Null(Decode<RequestHeader>("0012 0000 00000001 FFFF", 1).ClientId);
    }

    [Fact]
    public void ProduceResponse_V9OnePartition_FlexibleLayout()
    {
        var response = new ProduceResponse
        {
            Responses =
            [
                new ProduceResponse.TopicProduceResponse
                {
                    Name = "t",
                    PartitionResponses = [new ProduceResponse.PartitionProduceResponse { BaseOffset = 5, LogStartOffset = 0 }],
                },
            ],
        };

        // topics(1) name "t" partitions(1) index, error, base offset 5, log append time -1, log start 0,
        // record errors [], error message null, partition tags, topic tags, throttle 0, top-level tags.
        AssertEncodes(
            response,
            9,
            "02 0274 02 00000000 0000 0000000000000005 FFFFFFFFFFFFFFFF 0000000000000000 01 00 00 00 00000000 00");
    }

    [Fact]
    public void ApiVersionsResponse_V3TaggedEpoch_WrittenAsTagSizePayload()
    {
        var response = new ApiVersionsResponse
        {
            ApiKeys = [new ApiVersionsResponse.ApiVersion { ApiKey = 18, MinVersion = 0, MaxVersion = 4 }],
            FinalizedFeaturesEpoch = 5,
        };

        // error 0; keys(1) {18, 0, 4, tags}; throttle 0; tags: count 1, tag 1, size 8, int64 5.
        const string Expected = "0000 02 0012 0000 0004 00 00000000 01 01 08 0000000000000005";
        AssertEncodes(response, 3, Expected);
        Assert.Equal(5, Decode<ApiVersionsResponse>(Expected, 3).FinalizedFeaturesEpoch);
    }

    [Fact]
    public void ApiVersionsResponse_V3UnknownTag_Skipped()
    {
        // Same as the default v3 body but with an unknown tag 9 carrying two bytes.
        var decoded = Decode<ApiVersionsResponse>("0000 01 00000000 01 09 02 ABCD", 3);

        Assert.Empty(decoded.ApiKeys);
        Assert.Equal(-1, decoded.FinalizedFeaturesEpoch);
    }

    [Fact]
    public void MetadataRequest_NonIgnorableFieldAtOldVersion_ThrowsUnsupportedVersion()
    {
        var request = new MetadataRequest { AllowAutoTopicCreation = false };

        var e = Assert.Throws<UnsupportedVersionException>(() => RoundTripTests.Encode(request, 3));
        Assert.Contains("AllowAutoTopicCreation", e.Message, StringComparison.Ordinal);
        Assert.Equal(RoundTripTests.Encode(new MetadataRequest(), 3), RoundTripTests.Encode(new MetadataRequest { AllowAutoTopicCreation = true }, 3));
    }

    [Fact]
    public void ProduceRequest_TransactionalIdBeforeV3_ThrowsUnsupportedVersion()
    {
        var request = new ProduceRequest { TransactionalId = "tx" };

        Assert.Throws<UnsupportedVersionException>(() => RoundTripTests.Encode(request, 2));
    }

    [Fact]
    public void ProduceRequest_NonNullableArrayNullOnWire_ThrowsKafkaProtocolException()
    {
        // v9: transactional id null (00), acks, timeout, then a null TopicData array (00).
        Assert.Throws<KafkaProtocolException>(() => Decode<ProduceRequest>("00 FFFF 00000BB8 00 00", 9));
    }

    [Fact]
    public void ProduceRequest_Read_RecordsAreSlicesOfTheInput()
    {
        var request = new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 3000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = "t",
                    PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = new byte[] { 1, 2, 3 } }],
                },
            ],
        };
        var bytes = RoundTripTests.Encode(request, 9);
        ReadOnlyMemory<byte> input = bytes;

        var reader = new KafkaReader(input);
        var decoded = new ProduceRequest();
        decoded.Read(ref reader, 9);

        var records = decoded.TopicData[0].PartitionData[0].Records!.Value;
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(records, out var segment));
        Assert.Same(bytes, segment.Array);
        Assert.Equal(new byte[] { 1, 2, 3 }, records.ToArray());
    }

    private static void AssertEncodes(IApiMessage message, short version, string hex) =>
        Assert.Equal(Convert.ToHexString(Bytes(hex)), Convert.ToHexString(RoundTripTests.Encode(message, version)));

    private static T Decode<T>(string hex, short version)
        where T : IApiMessage, new()
    {
        var message = new T();
        var reader = new KafkaReader(Bytes(hex));
        message.Read(ref reader, version);
        Assert.Equal(0, reader.Remaining);
        return message;
    }

    private static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
}
