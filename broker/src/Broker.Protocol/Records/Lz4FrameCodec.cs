using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace Broker.Protocol.Records;

/// <summary>
/// lz4 (codec 3): the LZ4 frame format around K4os block functions. The frame is hand-rolled rather than taken
/// from K4os.Compression.LZ4.Streams so that the output limit, the rejection of linked (dependent) blocks and the
/// exact header Java writes are all under our control. Stateless; thread-safe.
/// </summary>
internal static class Lz4FrameCodec
{
    public const uint FrameMagic = 0x184D2204;

    /// <summary>Skippable frames use magics 0x184D2A50..0x184D2A5F.</summary>
    private const uint SkippableMask = 0xFFFFFFF0;
    private const uint SkippableMagic = 0x184D2A50;

    private const byte FlagVersionMask = 0xC0;
    private const byte FlagVersion1 = 0x40;
    private const byte FlagBlockIndependent = 0x20;
    private const byte FlagBlockChecksum = 0x10;
    private const byte FlagContentSize = 0x08;
    private const byte FlagContentChecksum = 0x04;
    private const byte FlagReserved = 0x02;
    private const byte FlagDictionaryId = 0x01;

    private const uint UncompressedBlockBit = 0x80000000;

    /// <summary>Block size written: 64 KiB (BD code 4), as the Java client.</summary>
    public const int WriteBlockSize = 64 * 1024;

    private const byte WriteFlags = FlagVersion1 | FlagBlockIndependent;
    private const byte WriteBlockDescriptor = 4 << 4;

    public static DecompressionStatus Decompress(ReadOnlySpan<byte> compressed, IBufferWriter<byte> output, int limit, out int written)
    {
        written = 0;
        if (compressed.IsEmpty)
        {
            return DecompressionStatus.Corrupt;
        }

        var rest = compressed;
        while (rest.Length > 0)
        {
            if (rest.Length < 8)
            {
                return DecompressionStatus.Corrupt;
            }

            var magic = BinaryPrimitives.ReadUInt32LittleEndian(rest);
            if ((magic & SkippableMask) == SkippableMagic)
            {
                var skip = BinaryPrimitives.ReadUInt32LittleEndian(rest[4..]);
                if (skip > (uint)(rest.Length - 8))
                {
                    return DecompressionStatus.Corrupt;
                }

                rest = rest[(8 + (int)skip)..];
                continue;
            }

            if (magic != FrameMagic)
            {
                return DecompressionStatus.Corrupt;
            }

            var status = DecompressFrame(ref rest, output, limit, ref written);
            if (status != DecompressionStatus.Ok)
            {
                return status;
            }
        }

        return DecompressionStatus.Ok;
    }

    private static DecompressionStatus DecompressFrame(ref ReadOnlySpan<byte> frame, IBufferWriter<byte> output, int limit, ref int written)
    {
        var flags = frame[4];
        var descriptor = frame[5];
        if ((flags & FlagVersionMask) != FlagVersion1 || (flags & (FlagReserved | FlagDictionaryId)) != 0 || (descriptor & 0x8F) != 0)
        {
            return DecompressionStatus.Corrupt;
        }

        // Linked blocks need the previous 64 KiB as a dictionary; Java refuses them and so do we.
        if ((flags & FlagBlockIndependent) == 0)
        {
            return DecompressionStatus.Corrupt;
        }

        var sizeCode = (descriptor >> 4) & 0x7;
        if (sizeCode < 4)
        {
            return DecompressionStatus.Corrupt;
        }

        var blockMax = 1 << (8 + (2 * sizeCode));
        var descriptorLength = 2 + ((flags & FlagContentSize) != 0 ? 8 : 0);
        if (frame.Length < 4 + descriptorLength + 1)
        {
            return DecompressionStatus.Corrupt;
        }

        if (frame[4 + descriptorLength] != HeaderChecksum(frame.Slice(4, descriptorLength)))
        {
            return DecompressionStatus.Corrupt;
        }

        long declaredSize = -1;
        if ((flags & FlagContentSize) != 0)
        {
            var size = BinaryPrimitives.ReadUInt64LittleEndian(frame[6..]);
            if (size > (ulong)(limit - written))
            {
                return DecompressionStatus.OutputLimitExceeded;
            }

            declaredSize = (long)size;
        }

        var blockChecksum = (flags & FlagBlockChecksum) != 0;
        var contentChecksum = (flags & FlagContentChecksum) != 0;
        var hash = default(XXH32.State);
        if (contentChecksum)
        {
            XXH32.Reset(ref hash, 0);
        }

        var rest = frame[(4 + descriptorLength + 1)..];
        var frameStart = written;
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                if (rest.Length < 4)
                {
                    return DecompressionStatus.Corrupt;
                }

                var header = BinaryPrimitives.ReadUInt32LittleEndian(rest);
                rest = rest[4..];
                if (header == 0)
                {
                    break; // end mark
                }

                var length = (int)(header & ~UncompressedBlockBit);
                if (length > blockMax || length > rest.Length - (blockChecksum ? 4 : 0))
                {
                    return DecompressionStatus.Corrupt;
                }

                var block = rest[..length];
                rest = rest[length..];
                if (blockChecksum)
                {
                    if (BinaryPrimitives.ReadUInt32LittleEndian(rest) != XXH32.DigestOf(block))
                    {
                        return DecompressionStatus.Corrupt;
                    }

                    rest = rest[4..];
                }

                Span<byte> decoded;
                if ((header & UncompressedBlockBit) != 0)
                {
                    if (length > limit - written)
                    {
                        return DecompressionStatus.OutputLimitExceeded;
                    }

                    decoded = output.GetSpan(length)[..length];
                    block.CopyTo(decoded);
                }
                else if (limit - written >= blockMax)
                {
                    var target = output.GetSpan(blockMax)[..blockMax];
                    var n = LZ4Codec.Decode(block, target);
                    if (n < 0)
                    {
                        return DecompressionStatus.Corrupt;
                    }

                    decoded = target[..n];
                }
                else
                {
                    // Near the limit: decode into a block-sized scratch so an oversize block is detected rather
                    // than mistaken for corruption by a too-small target.
                    scratch ??= ArrayPool<byte>.Shared.Rent(blockMax);
                    var n = LZ4Codec.Decode(block, scratch.AsSpan(0, blockMax));
                    if (n < 0)
                    {
                        return DecompressionStatus.Corrupt;
                    }

                    if (n > limit - written)
                    {
                        return DecompressionStatus.OutputLimitExceeded;
                    }

                    decoded = output.GetSpan(n)[..n];
                    scratch.AsSpan(0, n).CopyTo(decoded);
                }

                if (contentChecksum)
                {
                    XXH32.Update(ref hash, decoded);
                }

                output.Advance(decoded.Length);
                written += decoded.Length;
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }

        if (contentChecksum)
        {
            if (rest.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(rest) != XXH32.Digest(in hash))
            {
                return DecompressionStatus.Corrupt;
            }

            rest = rest[4..];
        }

        if (declaredSize >= 0 && written - frameStart != declaredSize)
        {
            return DecompressionStatus.Corrupt;
        }

        frame = rest;
        return DecompressionStatus.Ok;
    }

    public static int Compress(ReadOnlySpan<byte> raw, IBufferWriter<byte> output, int? level)
    {
        var lz4Level = level switch
        {
            null or < 3 => LZ4Level.L00_FAST,
            > 12 => LZ4Level.L12_MAX,
            { } l => (LZ4Level)l,
        };

        var header = output.GetSpan(7);
        BinaryPrimitives.WriteUInt32LittleEndian(header, FrameMagic);
        header[4] = WriteFlags;
        header[5] = WriteBlockDescriptor;
        header[6] = HeaderChecksum(header.Slice(4, 2));
        output.Advance(7);
        var total = 7;

        while (raw.Length > 0)
        {
            var chunk = raw[..Math.Min(raw.Length, WriteBlockSize)];
            var span = output.GetSpan(4 + Math.Max(LZ4Codec.MaximumOutputSize(chunk.Length), chunk.Length));
            var length = LZ4Codec.Encode(chunk, span[4..], lz4Level);
            if (length <= 0 || length >= chunk.Length)
            {
                // Incompressible: store the block as is, flagged by the high bit of its length.
                chunk.CopyTo(span[4..]);
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)chunk.Length | UncompressedBlockBit);
                length = chunk.Length;
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)length);
            }

            output.Advance(4 + length);
            total += 4 + length;
            raw = raw[chunk.Length..];
        }

        BinaryPrimitives.WriteUInt32LittleEndian(output.GetSpan(4), 0);
        output.Advance(4);
        return total + 4;
    }

    /// <summary>Second byte of xxHash32 (seed 0) of the frame descriptor, from FLG up to the checksum byte.</summary>
    public static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) => (byte)((XXH32.DigestOf(descriptor) >> 8) & 0xFF);
}
