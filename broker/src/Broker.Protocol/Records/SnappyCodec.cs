using System.Buffers;
using System.Buffers.Binary;
using Snappier;

namespace Broker.Protocol.Records;

/// <summary>
/// snappy (codec 2). The Java client writes snappy-java's "xerial" stream: an 8-byte magic, two int32 versions,
/// then chunks of (int32 big-endian length, raw snappy block). librdkafka writes one raw snappy block instead, so
/// reading accepts both, telling them apart by the magic. Stateless; thread-safe.
/// </summary>
internal static class SnappyCodec
{
    /// <summary>Uncompressed bytes per xerial chunk, as snappy-java's default block size.</summary>
    public const int XerialChunkSize = 32 * 1024;

    public const int XerialHeaderSize = 16;

    public static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    public static bool IsXerial(ReadOnlySpan<byte> data) => data.Length >= XerialMagic.Length && data.StartsWith(XerialMagic);

    public static DecompressionStatus Decompress(ReadOnlySpan<byte> compressed, IBufferWriter<byte> output, int limit, out int written)
    {
        written = 0;
        if (!IsXerial(compressed))
        {
            return DecompressBlock(compressed, output, limit, ref written);
        }

        var rest = compressed;
        while (rest.Length > 0)
        {
            // snappy-java tolerates several xerial streams glued together; a chunk length is never negative, so a
            // 0x82 where a length should start can only be another stream header.
            if (IsXerial(rest))
            {
                if (rest.Length < XerialHeaderSize)
                {
                    return DecompressionStatus.Corrupt;
                }

                rest = rest[XerialHeaderSize..];
                continue;
            }

            if (rest.Length < 4)
            {
                return DecompressionStatus.Corrupt;
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(rest);
            if (length < 0 || length > rest.Length - 4)
            {
                return DecompressionStatus.Corrupt;
            }

            var status = DecompressBlock(rest.Slice(4, length), output, limit, ref written);
            if (status != DecompressionStatus.Ok)
            {
                return status;
            }

            rest = rest[(4 + length)..];
        }

        return DecompressionStatus.Ok;
    }

    private static DecompressionStatus DecompressBlock(ReadOnlySpan<byte> block, IBufferWriter<byte> output, int limit, ref int written)
    {
        try
        {
            // The block starts with its uncompressed length, so the limit is enforced before any output is claimed.
            var length = Snappy.GetUncompressedLength(block);
            if (length < 0)
            {
                return DecompressionStatus.Corrupt;
            }

            if (length > limit - written)
            {
                return DecompressionStatus.OutputLimitExceeded;
            }

            if (length == 0)
            {
                return block.Length == 1 ? DecompressionStatus.Ok : DecompressionStatus.Corrupt;
            }

            var span = output.GetSpan(length)[..length];
            if (!Snappy.TryDecompress(block, span, out var decoded) || decoded != length)
            {
                return DecompressionStatus.Corrupt;
            }

            output.Advance(decoded);
            written += decoded;
            return DecompressionStatus.Ok;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            return DecompressionStatus.Corrupt;
        }
    }

    public static int Compress(ReadOnlySpan<byte> raw, IBufferWriter<byte> output)
    {
        var header = output.GetSpan(XerialHeaderSize);
        XerialMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], 1); // stream version
        BinaryPrimitives.WriteInt32BigEndian(header[12..], 1); // oldest reader version that understands it
        output.Advance(XerialHeaderSize);
        var total = XerialHeaderSize;

        while (raw.Length > 0)
        {
            var chunk = raw[..Math.Min(raw.Length, XerialChunkSize)];
            var span = output.GetSpan(4 + Snappy.GetMaxCompressedLength(chunk.Length));
            var length = Snappy.Compress(chunk, span[4..]);
            BinaryPrimitives.WriteInt32BigEndian(span, length);
            output.Advance(4 + length);
            total += 4 + length;
            raw = raw[chunk.Length..];
        }

        return total;
    }
}
