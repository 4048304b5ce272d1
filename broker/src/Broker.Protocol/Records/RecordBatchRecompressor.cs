using System.Buffers.Binary;

namespace Broker.Protocol.Records;

/// <summary>
/// Rewrites one validated batch with another codec, as a leader does when a topic's compression.type is not
/// "producer". The records section is codec-independent (offset and timestamp deltas stay relative to the
/// unchanged header), so this is decompress, compress, and a new header with the codec bits, batchLength and
/// CRC updated: no per-record work. Stateless; thread-safe.
/// </summary>
public static class RecordBatchRecompressor
{
    /// <summary>
    /// Writes <paramref name="batch"/> re-encoded with <paramref name="target"/> to <paramref name="output"/>
    /// (which must be empty) and returns its size. Throws <see cref="DecompressionException"/> for
    /// undecodable data, which validation has already excluded.
    /// </summary>
    public static int Recompress(ReadOnlySpan<byte> batch, CompressionType target, KafkaWriter output, int? level = null,
        int maxDecompressedBytes = RecordCompression.DefaultMaxDecompressedBytes)
    {
        ArgumentNullException.ThrowIfNull(output);
        var source = RecordBatchHeader.Compression(batch);
        var records = batch[RecordBatchHeader.Size..];
        KafkaWriter? inflated = null;
        try
        {
            if (source != CompressionType.None)
            {
                inflated = new KafkaWriter(Math.Max(4096, records.Length * 4));
                RecordCompression.Decompress(source, records, inflated, maxDecompressedBytes);
                records = inflated.WrittenSpan;
            }

            var start = output.Position;
            output.WriteRaw(batch[..RecordBatchHeader.Size]);
            if (target == CompressionType.None)
            {
                output.WriteRaw(records);
            }
            else
            {
                RecordCompression.Compress(target, records, output, level);
            }

            var size = output.Position - start;
            var written = output.WrittenSpanMutable(start, size);
            var attributes = (ushort)((ushort)RecordBatchHeader.Attributes(written) & ~(ushort)RecordBatchHeader.CompressionMask | (byte)target);
            BinaryPrimitives.WriteUInt16BigEndian(written[RecordBatchHeader.AttributesOffset..], attributes);
            BinaryPrimitives.WriteInt32BigEndian(written[RecordBatchHeader.LengthOffset..], size - RecordBatchHeader.LogOverhead);
            RecordBatchHeader.UpdateCrc(written);
            return size;
        }
        finally
        {
            inflated?.Dispose();
        }
    }
}
