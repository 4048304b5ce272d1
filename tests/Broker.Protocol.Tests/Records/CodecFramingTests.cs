using System.Buffers.Binary;
using Broker.Protocol.Records;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using K4os.Hash.xxHash;
using Snappier;

using static Broker.Protocol.Tests.Records.CodecCalls;

namespace Broker.Protocol.Tests.Records;

/// <summary>Wire framing of the snappy (xerial and raw) and lz4 (frame format) codecs.</summary>
public sealed class CodecFramingTests
{
    // ---- snappy ----

    [Fact]
    public void CompressSnappy_WritesXerialFramingWith32KiBChunks()
    {
        var raw = RecordTestData.MixedBytes(100_000, 1);
        var compressed = Compress(CompressionType.Snappy, raw);

        byte[] header = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];
        Assert.Equal(header, compressed[..16]);

        // Walk the chunks independently: each is a raw snappy block of at most 32 KiB.
        var pos = 16;
        var chunks = new List<int>();
        while (pos < compressed.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(compressed.AsSpan(pos));
            var block = compressed.AsSpan(pos + 4, length);
            chunks.Add(Snappy.GetUncompressedLength(block));
            pos += 4 + length;
        }

        Assert.Equal(pos, compressed.Length);
        Assert.Equal([32768, 32768, 32768, 100_000 - (3 * 32768)], chunks);
    }

    [Fact]
    public void DecompressSnappy_RawBlockAsLibrdkafkaWrites_Decodes()
    {
        var raw = RecordTestData.MixedBytes(150_000, 2);
        var block = Snappy.CompressToArray(raw);
        Assert.Equal(raw, Decompress(CompressionType.Snappy, block));
    }

    [Fact]
    public void DecompressSnappy_HandBuiltXerialStream_Decodes()
    {
        var part1 = RecordTestData.MixedBytes(1000, 3);
        var part2 = RecordTestData.MixedBytes(500, 4);
        var stream = XerialStream(part1, part2);
        Assert.Equal(RecordTestData.Concat(part1, part2), Decompress(CompressionType.Snappy, stream));
    }

    [Fact]
    public void DecompressSnappy_ConcatenatedXerialStreams_Decodes()
    {
        var a = RecordTestData.MixedBytes(700, 5);
        var b = RecordTestData.MixedBytes(900, 6);
        var stream = RecordTestData.Concat(XerialStream(a), XerialStream(b));
        Assert.Equal(RecordTestData.Concat(a, b), Decompress(CompressionType.Snappy, stream));
    }

    [Fact]
    public void DecompressSnappy_XerialChunkLengthPastEnd_IsCorrupt()
    {
        var stream = XerialStream(RecordTestData.MixedBytes(1000, 3));
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Snappy, stream[..^1]).Status);
    }

    private static byte[] XerialStream(params byte[][] chunks)
    {
        var result = new List<byte> { 0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1 };
        foreach (var chunk in chunks)
        {
            var block = Snappy.CompressToArray(chunk);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, block.Length);
            result.AddRange(length);
            result.AddRange(block);
        }

        return [.. result];
    }

    // ---- lz4 ----

    [Fact]
    public void CompressLz4_FrameHeader_MatchesJavaClientBytes()
    {
        var compressed = Compress(CompressionType.Lz4, RecordTestData.MixedBytes(1000, 1));

        // Magic (LE), FLG = version 01 + independent blocks, BD = 64 KiB, header checksum.
        var expectedChecksum = (byte)((XXH32.DigestOf(new byte[] { 0x60, 0x40 }) >> 8) & 0xFF);
        Assert.Equal(new byte[] { 0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, expectedChecksum }, compressed[..7]);
        Assert.Equal(0x82, expectedChecksum);
        Assert.Equal(new byte[4], compressed[^4..]); // end mark, no content checksum after it
    }

    [Fact]
    public void CompressLz4_LargeInput_Writes64KiBIndependentBlocks()
    {
        var raw = RecordTestData.MixedBytes(200_000, 9);
        var compressed = Compress(CompressionType.Lz4, raw);
        var pos = 7;
        var total = 0;
        while (true)
        {
            var header = BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(pos));
            pos += 4;
            if (header == 0)
            {
                break;
            }

            var length = (int)(header & 0x7FFFFFFF);
            var target = new byte[64 * 1024];
            var n = (header & 0x80000000) != 0 ? length : LZ4Codec.Decode(compressed.AsSpan(pos, length), target);
            Assert.InRange(n, 1, 64 * 1024);
            total += n;
            pos += length;
        }

        Assert.Equal(raw.Length, total);
        Assert.Equal(compressed.Length, pos);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void DecompressLz4_K4osStreamFrames_Decode(bool contentChecksum, bool blockChecksum)
    {
        var raw = RecordTestData.MixedBytes(300_000, 11);
        var settings = new LZ4EncoderSettings
        {
            ChainBlocks = false,
            BlockSize = 256 * 1024,
            ContentChecksum = contentChecksum,
            BlockChecksum = blockChecksum,
        };
        var frame = EncodeWithK4osStream(raw, settings);
        Assert.Equal(raw, Decompress(CompressionType.Lz4, frame));
    }

    [Theory]
    [InlineData(false, false, false, 4)]
    [InlineData(true, false, false, 4)]
    [InlineData(false, true, false, 5)]
    [InlineData(true, true, false, 6)]
    [InlineData(true, true, true, 7)]
    public void DecompressLz4_HandBuiltFrames_Decode(bool contentSize, bool contentChecksum, bool blockChecksum, int blockSizeCode)
    {
        var raw = RecordTestData.MixedBytes(600_000, 12);
        var frame = HandBuiltLz4Frame(raw, contentSize, contentChecksum, blockChecksum, blockSizeCode);
        Assert.Equal(raw, Decompress(CompressionType.Lz4, frame));
    }

    [Fact]
    public void DecompressLz4_ContentSizeMismatch_IsCorrupt()
    {
        var raw = RecordTestData.MixedBytes(1000, 12);
        var frame = HandBuiltLz4Frame(raw, contentSize: true, contentChecksum: false, blockChecksum: false, blockSizeCode: 4, declaredSize: 999);
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Lz4, frame).Status);
    }

    [Fact]
    public void DecompressLz4_DeclaredContentSizeAboveLimit_FailsBeforeDecoding()
    {
        var raw = RecordTestData.MixedBytes(1000, 12);
        var frame = HandBuiltLz4Frame(raw, contentSize: true, contentChecksum: false, blockChecksum: false, blockSizeCode: 4, declaredSize: 1L << 40);
        Assert.Equal(DecompressionStatus.OutputLimitExceeded, TryDecompress(CompressionType.Lz4, frame).Status);
    }

    /// <summary>Builds an LZ4 frame from the format description, independently of the production writer.</summary>
    private static byte[] HandBuiltLz4Frame(
        byte[] raw, bool contentSize, bool contentChecksum, bool blockChecksum, int blockSizeCode, long? declaredSize = null)
    {
        var frame = new List<byte> { 0x04, 0x22, 0x4D, 0x18 };
        var flg = (byte)(0x40 | 0x20 | (blockChecksum ? 0x10 : 0) | (contentSize ? 0x08 : 0) | (contentChecksum ? 0x04 : 0));
        var descriptor = new List<byte> { flg, (byte)(blockSizeCode << 4) };
        if (contentSize)
        {
            var size = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(size, declaredSize ?? raw.Length);
            descriptor.AddRange(size);
        }

        frame.AddRange(descriptor);
        frame.Add((byte)(XXH32.DigestOf(descriptor.ToArray()) >> 8));

        var blockSize = 1 << (8 + (2 * blockSizeCode));
        var word = new byte[4];
        for (var at = 0; at < raw.Length; at += blockSize)
        {
            var chunk = raw.AsSpan(at, Math.Min(blockSize, raw.Length - at));
            var target = new byte[LZ4Codec.MaximumOutputSize(chunk.Length)];
            var n = LZ4Codec.Encode(chunk, target, LZ4Level.L00_FAST);
            var block = target[..n];
            BinaryPrimitives.WriteInt32LittleEndian(word, n);
            frame.AddRange(word);
            frame.AddRange(block);
            if (blockChecksum)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(word, XXH32.DigestOf(block));
                frame.AddRange(word);
            }
        }

        frame.AddRange(new byte[4]);
        if (contentChecksum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(word, XXH32.DigestOf(raw));
            frame.AddRange(word);
        }

        return [.. frame];
    }

    [Fact]
    public void DecompressLz4_WrongContentChecksum_IsCorrupt()
    {
        var raw = RecordTestData.MixedBytes(10_000, 12);
        var frame = EncodeWithK4osStream(raw, new LZ4EncoderSettings { ChainBlocks = false, ContentChecksum = true });
        frame[^1] ^= 0x01;
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Lz4, frame).Status);
    }

    [Fact]
    public void DecompressLz4_DependentBlocks_IsRejected()
    {
        var raw = RecordTestData.MixedBytes(300_000, 13);
        var frame = EncodeWithK4osStream(raw, new LZ4EncoderSettings { ChainBlocks = true });
        Assert.Equal(0, frame[4] & 0x20); // block-independence flag clear
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Lz4, frame).Status);
    }

    [Fact]
    public void DecompressLz4_BadHeaderChecksum_IsCorrupt()
    {
        var frame = Compress(CompressionType.Lz4, RecordTestData.MixedBytes(1000, 1));
        frame[6] ^= 0xFF;
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Lz4, frame).Status);
    }

    [Fact]
    public void DecompressLz4_MissingEndMark_IsCorrupt()
    {
        var frame = Compress(CompressionType.Lz4, RecordTestData.MixedBytes(1000, 1));
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Lz4, frame[..^4]).Status);
    }

    private static byte[] EncodeWithK4osStream(byte[] raw, LZ4EncoderSettings settings)
    {
        using var memory = new MemoryStream();
        using (var encoder = LZ4Stream.Encode(memory, settings, leaveOpen: true))
        {
            encoder.Write(raw);
        }

        return memory.ToArray();
    }
}
