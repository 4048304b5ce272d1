using System.Text;
using Kube.ApiServer.Http;

namespace Kube.ApiServer.Tests.Unit;

/// <summary>Kubernetes protobuf request bodies: the envelope, a ConfigMap decoded to JSON, malformed input. No sockets.</summary>
public sealed class ProtobufBodiesTests
{
    private static readonly byte[] Magic = [0x6b, 0x38, 0x73, 0x00];

    [Fact]
    public void Decode_ConfigMapInUnknownEnvelope_JsonWithTypeMetaMetadataAndData()
    {
        var metadata = Message(String(1, "settings"), String(3, "demo"), Map(11, "app", "web"));
        var configMap = Message(Length(1, metadata), Map(2, "mode", "fast"), Varint(4, 1));
        var body = Envelope("v1", "ConfigMap", configMap);

        var json = ProtobufBodies.Decode(body);

        Assert.Equal(
            """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"demo","labels":{"app":"web"}},"data":{"mode":"fast"},"immutable":true}""",
            json.ToJsonString());
    }

    [Fact]
    public void Decode_WithoutMagic_BadRequest()
    {
        var error = Assert.Throws<ApiError>(() => ProtobufBodies.Decode("{}"u8.ToArray()));

        Assert.Equal(400, error.Code);
    }

    [Fact]
    public void Decode_LengthBeyondMessage_BadRequestNotACrash()
    {
        var body = Envelope("v1", "ConfigMap", [0x0a, 0x7f, 0x01]);

        var error = Assert.Throws<ApiError>(() => ProtobufBodies.Decode(body));

        Assert.Equal(400, error.Code);
        Assert.Contains("malformed protobuf body", error.Message);
    }

    [Fact]
    public void Decode_KindWithoutSchema_UnsupportedMediaType()
    {
        var error = Assert.Throws<ApiError>(() => ProtobufBodies.Decode(Envelope("apps/v1", "Deployment", [])));

        Assert.Equal(415, error.Code);
    }

    private static byte[] Envelope(string apiVersion, string kind, byte[] raw)
    {
        var typeMeta = Message(String(1, apiVersion), String(2, kind));
        return [.. Magic, .. Message(Length(1, typeMeta), Length(2, raw))];
    }

    private static byte[] Message(params byte[][] fields) => [.. fields.SelectMany(f => f)];

    private static byte[] String(int field, string value) => Length(field, Encoding.UTF8.GetBytes(value));

    private static byte[] Map(int field, string key, string value) => Length(field, Message(String(1, key), String(2, value)));

    private static byte[] Varint(int field, byte value) => [(byte)(field << 3), value];

    private static byte[] Length(int field, byte[] value) => [(byte)((field << 3) | 2), (byte)value.Length, .. value];
}
