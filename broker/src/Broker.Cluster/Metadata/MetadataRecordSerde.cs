using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Metadata;

/// <summary>
/// Kafka's metadata-log record value framing: uvarint frame version (1), uvarint api key, uvarint record
/// version, then the record body. Record types the image does not use are still decoded and ignored by the image builder. Stateless; thread-safe.
/// </summary>
public static class MetadataRecordSerde
{
    public const uint FrameVersion = 1;

    /// <summary>Writes <paramref name="record"/> at its highest version.</summary>
    public static void Write(KafkaWriter writer, IApiMessage record)
    {
        var version = record.HighestVersion;
        writer.WriteUnsignedVarInt(FrameVersion);
        writer.WriteUnsignedVarInt((uint)record.ApiKeyValue);
        writer.WriteUnsignedVarInt((uint)version);
        record.Write(writer, version);
    }

    /// <summary>Decodes one record value; returns null for record types unknown to this broker.</summary>
    public static IApiMessage? Read(ReadOnlyMemory<byte> value)
    {
        var reader = new KafkaReader(value);
        var frame = reader.ReadUnsignedVarInt();
        if (frame != FrameVersion)
        {
            throw new KafkaProtocolException($"Unsupported metadata record frame version {frame}.");
        }

        var apiKey = reader.ReadUnsignedVarInt();
        var version = (short)reader.ReadUnsignedVarInt();
        if (apiKey > short.MaxValue || !MetadataRecordTypes.TryCreate((short)apiKey, out var record))
        {
            return null;
        }

        record.Read(ref reader, version);
        return record;
    }
}
