using Broker.Protocol.Messages;

namespace Broker.Protocol.Tests.Messages;

public sealed class TruncationTests
{
    public static TheoryData<string, short> Cases() => new()
    {
        { typeof(ApiVersionsRequest).FullName!, 3 },
        { typeof(ApiVersionsResponse).FullName!, 3 },
        { typeof(RequestHeader).FullName!, 2 },
        { typeof(MetadataRequest).FullName!, 12 },
        { typeof(MetadataResponse).FullName!, 12 },
        { typeof(ProduceRequest).FullName!, 8 },
        { typeof(ProduceRequest).FullName!, 11 },
        { typeof(FetchRequest).FullName!, 17 },
        { typeof(FetchResponse).FullName!, 16 },
        { typeof(Broker.Protocol.Metadata.PartitionRecord).FullName!, 2 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Read_EveryStrictPrefix_ThrowsKafkaProtocolException(string typeName, short version)
    {
        var type = typeof(IApiMessage).Assembly.GetType(typeName, throwOnError: true)!;
        var spec = SchemaFixture.ForType(type);
        var full = RoundTripTests.Encode((IApiMessage)new MessageFiller().Create(type, spec.Fields, version), version);

        for (var length = 0; length < full.Length; length++)
        {
            var prefix = full.AsMemory(0, length);
            var message = (IApiMessage)Activator.CreateInstance(type)!;
            var e = Record.Exception(() =>
            {
                var reader = new KafkaReader(prefix);
                message.Read(ref reader, version);
            });

            Assert.True(e is KafkaProtocolException, $"{type.Name} v{version}, prefix {length}/{full.Length}: {e?.GetType().Name ?? "no exception"}.");
        }
    }
}
