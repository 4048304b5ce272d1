using System.Buffers.Binary;
using Broker.Protocol;
using Broker.Protocol.Records;

namespace Broker.IntegrationTests.Wire;

/// <summary>Hand-built uncompressed RecordBatch v2 bytes, independent of the broker's own builder.</summary>
internal static class TestBatches
{
    public static byte[] Build(long baseTimestamp, params (byte[]? Key, byte[]? Value)[] records)
    {
        using var body = new KafkaWriter();
        for (var i = 0; i < records.Length; i++)
        {
            using var record = new KafkaWriter();
            record.WriteInt8(0);
            record.WriteVarLong(0);
            record.WriteVarInt(i);
            WriteVarBytes(record, records[i].Key);
            WriteVarBytes(record, records[i].Value);
            record.WriteVarInt(0);
            body.WriteVarInt(record.Position);
            body.WriteRaw(record.WrittenSpan);
        }

        var batch = new byte[RecordBatchHeader.Size + body.Position];
        var span = batch.AsSpan();
        BinaryPrimitives.WriteInt64BigEndian(span, 0);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], batch.Length - 12);
        BinaryPrimitives.WriteInt32BigEndian(span[12..], -1);
        span[16] = 2;
        BinaryPrimitives.WriteInt16BigEndian(span[21..], 0);
        BinaryPrimitives.WriteInt32BigEndian(span[23..], records.Length - 1);
        BinaryPrimitives.WriteInt64BigEndian(span[27..], baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[35..], baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[43..], -1);
        BinaryPrimitives.WriteInt16BigEndian(span[51..], -1);
        BinaryPrimitives.WriteInt32BigEndian(span[53..], -1);
        BinaryPrimitives.WriteInt32BigEndian(span[57..], records.Length);
        body.WrittenSpan.CopyTo(span[61..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[17..], Crc32C.Compute(span[21..]));
        return batch;
    }

    private static void WriteVarBytes(KafkaWriter writer, byte[]? bytes)
    {
        if (bytes is null)
        {
            writer.WriteVarInt(-1);
            return;
        }

        writer.WriteVarInt(bytes.Length);
        writer.WriteRaw(bytes);
    }
}
