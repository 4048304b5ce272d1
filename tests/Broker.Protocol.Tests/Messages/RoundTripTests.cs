using Broker.Protocol.Messages;

namespace Broker.Protocol.Tests.Messages;

public sealed class RoundTripTests
{
    public static TheoryData<string> MessageTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in SchemaFixture.GeneratedMessageTypes())
        {
            data.Add(type.FullName!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MessageTypes))]
    public void WriteReadWrite_EveryVersionWithEveryFieldSet_BytesAndValuesPreserved(string typeName)
    {
        var type = typeof(IApiMessage).Assembly.GetType(typeName, throwOnError: true)!;
        var spec = SchemaFixture.ForType(type);
        var filler = new MessageFiller();
        for (var v = spec.ValidVersions.Lo; v <= spec.ValidVersions.Hi; v++)
        {
            var original = (IApiMessage)filler.Create(type, spec.Fields, v);
            var first = Encode(original, v);

            var copy = (IApiMessage)Activator.CreateInstance(type)!;
            var reader = new KafkaReader(first);
            copy.Read(ref reader, v);

            Assert.True(reader.Remaining == 0, $"{type.Name} v{v}: {reader.Remaining} bytes left unread.");
            Assert.True(first.AsSpan().SequenceEqual(Encode(copy, v)), $"{type.Name} v{v}: re-encoding differs.");
            MessageFiller.AssertSameFields(original, copy, spec.Fields, v, $"{type.Name} v{v}");
        }
    }

    [Theory]
    [MemberData(nameof(MessageTypes))]
    public void WriteRead_DefaultInstanceAtEveryVersion_RoundTrips(string typeName)
    {
        var type = typeof(IApiMessage).Assembly.GetType(typeName, throwOnError: true)!;
        var message = (IApiMessage)Activator.CreateInstance(type)!;
        for (var v = message.LowestVersion; v <= message.HighestVersion; v++)
        {
            var bytes = Encode(message, v);
            var copy = (IApiMessage)Activator.CreateInstance(type)!;
            var reader = new KafkaReader(bytes);
            copy.Read(ref reader, v);

            Assert.Equal(0, reader.Remaining);
            Assert.Equal(bytes, Encode(copy, v));
        }
    }

    internal static byte[] Encode(IApiMessage message, short version)
    {
        using var writer = new KafkaWriter(256);
        message.Write(writer, version);
        return writer.WrittenSpan.ToArray();
    }
}
