using System.IO.Compression;
using Broker.Protocol.Records;
using ZstdSharp;

using static Broker.Protocol.Tests.Records.CodecCalls;

namespace Broker.Protocol.Tests.Records;

public sealed class RecordCompressionTests
{
    public static TheoryData<CompressionType> CompressedCodecs() => RecordTestData.CompressedCodecs();

    public static TheoryData<CompressionType> Codecs() => RecordTestData.Codecs();

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Compress_ThenDecompress_RoundTripsAllSizes(CompressionType codec)
    {
        foreach (var size in new[] { 0, 1, 100, 32 * 1024, 64 * 1024, (64 * 1024) + 1, 300_000 })
        {
            var raw = RecordTestData.MixedBytes(size, size);
            var compressed = Compress(codec, raw);
            if (codec == CompressionType.None)
            {
                Assert.Equal(raw, compressed);
                continue;
            }

            Assert.Equal(raw, Decompress(codec, compressed));
        }
    }

    [Theory]
    [InlineData(CompressionType.Gzip, 1)]
    [InlineData(CompressionType.Gzip, 9)]
    [InlineData(CompressionType.Gzip, -1)]
    [InlineData(CompressionType.Lz4, 1)]
    [InlineData(CompressionType.Lz4, 9)]
    [InlineData(CompressionType.Lz4, 17)]
    [InlineData(CompressionType.Zstd, -5)]
    [InlineData(CompressionType.Zstd, 19)]
    [InlineData(CompressionType.Zstd, 1000)]
    public void Compress_WithLevel_RoundTrips(CompressionType codec, int level)
    {
        var raw = RecordTestData.MixedBytes(100_000, level);
        Assert.Equal(raw, Decompress(codec, Compress(codec, raw, level)));
    }

    [Fact]
    public void Compress_Incompressible_IsNotMuchLarger()
    {
        var raw = new byte[200_000];
        new Random(7).NextBytes(raw);
        foreach (var codec in RecordTestData.AllCodecs)
        {
            var compressed = Compress(codec, raw);
            Assert.True(compressed.Length < raw.Length + 1024, $"{codec}: {compressed.Length}");
            if (codec != CompressionType.None)
            {
                Assert.Equal(raw, Decompress(codec, compressed));
            }
        }
    }

    // ---- zstd ----

    [Fact]
    public void DecompressZstd_StreamingFrameWithoutContentSize_Decodes()
    {
        var raw = RecordTestData.MixedBytes(500_000, 21);
        using var memory = new MemoryStream();
        using (var zstd = new CompressionStream(memory, level: 3, bufferSize: 0, leaveOpen: true))
        {
            // Several writes, as a streaming encoder would see them.
            for (var at = 0; at < raw.Length; at += 10_000)
            {
                zstd.Write(raw, at, Math.Min(10_000, raw.Length - at));
            }
        }

        var frame = memory.ToArray();
        Assert.Equal(0, frame[4] & 0xE0); // frame header: no content-size field, not single-segment
        Assert.Equal(raw, Decompress(CompressionType.Zstd, frame));
    }

    [Fact]
    public void DecompressZstd_TwoFrames_DecodesBoth()
    {
        var a = RecordTestData.MixedBytes(1000, 1);
        var b = RecordTestData.MixedBytes(2000, 2);
        var data = RecordTestData.Concat(Compress(CompressionType.Zstd, a), Compress(CompressionType.Zstd, b));
        Assert.Equal(RecordTestData.Concat(a, b), Decompress(CompressionType.Zstd, data));
    }

    // ---- gzip ----

    [Fact]
    public void DecompressGzip_ConcatenatedMembers_DecodesAll()
    {
        var a = RecordTestData.MixedBytes(1000, 1);
        var b = RecordTestData.MixedBytes(3000, 2);
        var data = RecordTestData.Concat(Compress(CompressionType.Gzip, a), Compress(CompressionType.Gzip, b));
        Assert.Equal(RecordTestData.Concat(a, b), Decompress(CompressionType.Gzip, data));
    }

    [Fact]
    public void DecompressGzip_TrailingGarbage_IsCorrupt()
    {
        var data = RecordTestData.Concat(Compress(CompressionType.Gzip, RecordTestData.MixedBytes(1000, 1)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Gzip, data).Status);
    }

    [Fact]
    public void DecompressGzip_BadTrailerCrc_IsCorrupt()
    {
        var data = Compress(CompressionType.Gzip, RecordTestData.MixedBytes(1000, 1));
        data[^8] ^= 0x01;
        Assert.Equal(DecompressionStatus.Corrupt, TryDecompress(CompressionType.Gzip, data).Status);
    }

    [Fact]
    public void CompressGzip_EmptyInput_WritesOneCompleteMember()
    {
        var data = Compress(CompressionType.Gzip, []);
        Assert.Equal(20, data.Length);
        Assert.Empty(Decompress(CompressionType.Gzip, data));
    }

    [Fact]
    public void Crc32Ieee_CheckValue_MatchesStandard()
    {
        Assert.Equal(0xCBF43926u, Crc32Ieee.Compute("123456789"u8));
        var data = RecordTestData.MixedBytes(1000, 3);
        Assert.Equal(Crc32Ieee.Compute(data), Crc32Ieee.Append(Crc32Ieee.Compute(data.AsSpan(0, 333)), data.AsSpan(333)));
    }

    [Fact]
    public void CompressGzip_Output_IsReadableByGZipStream()
    {
        var raw = RecordTestData.MixedBytes(50_000, 3);
        using var input = new MemoryStream(Compress(CompressionType.Gzip, raw));
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        Assert.Equal(raw, output.ToArray());
    }

    // ---- all codecs: failures ----

    [Theory]
    [MemberData(nameof(CompressedCodecs))]
    public void TryDecompress_EveryTruncation_IsCorruptWithoutThrowing(CompressionType codec)
    {
        var raw = RecordTestData.MixedBytes(5000, 31);
        var compressed = Compress(codec, raw);
        for (var length = 0; length < compressed.Length; length++)
        {
            var (status, output) = TryDecompress(codec, compressed.AsSpan(0, length));

            // xerial framing has no end marker: a cut between chunks (or right after the header) is a shorter but
            // well-formed stream. The batch's record count catches that; the codec cannot.
            var chunkBoundary = codec == CompressionType.Snappy && length == SnappyCodec.XerialHeaderSize;
            var expected = chunkBoundary ? DecompressionStatus.Ok : DecompressionStatus.Corrupt;
            Assert.True(status == expected, $"{codec} prefix {length}: {status}");
            Assert.True(raw.AsSpan().StartsWith(output));
        }
    }

    [Theory]
    [MemberData(nameof(CompressedCodecs))]
    public void TryDecompress_RandomCorruption_NeverThrows(CompressionType codec)
    {
        var raw = RecordTestData.MixedBytes(20_000, 41);
        var compressed = Compress(codec, raw);
        var random = new Random(43);
        for (var i = 0; i < 2000; i++)
        {
            var mutated = (byte[])compressed.Clone();
            for (var j = random.Next(1, 4); j > 0; j--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            _ = TryDecompress(codec, mutated, limit: 1 << 20);
        }

        var garbage = new byte[1000];
        for (var i = 0; i < 200; i++)
        {
            random.NextBytes(garbage);
            Assert.NotEqual(DecompressionStatus.Ok, TryDecompress(codec, garbage).Status);
        }
    }

    [Theory]
    [MemberData(nameof(CompressedCodecs))]
    public void TryDecompress_Bomb_StopsAtLimitWithoutAllocatingTheOutput(CompressionType codec)
    {
        var zeros = new byte[32 * 1024 * 1024];
        var bomb = Compress(codec, zeros);
        Assert.True(bomb.Length < zeros.Length / 20, $"{codec} bomb is {bomb.Length} bytes");

        const int limit = 1024 * 1024;
        using var writer = new KafkaWriter(16);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var status = RecordCompression.TryDecompress(codec, bomb, writer, limit, out var written);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(DecompressionStatus.OutputLimitExceeded, status);
        Assert.True(written <= limit);
        Assert.True(writer.Position <= limit);
        Assert.True(allocated < 8 * 1024 * 1024, $"{codec} allocated {allocated} bytes");
    }

    [Theory]
    [MemberData(nameof(CompressedCodecs))]
    public void TryDecompress_ExactlyAtLimit_Succeeds(CompressionType codec)
    {
        var raw = RecordTestData.MixedBytes(100_000, 5);
        var compressed = Compress(codec, raw);
        Assert.Equal(DecompressionStatus.Ok, TryDecompress(codec, compressed, raw.Length).Status);
        Assert.Equal(DecompressionStatus.OutputLimitExceeded, TryDecompress(codec, compressed, raw.Length - 1).Status);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(0)]
    public void TryDecompress_UnsupportedCodec_ReportsUnsupported(int codec)
    {
        Assert.Equal(DecompressionStatus.UnsupportedCodec, TryDecompress((CompressionType)codec, [1, 2, 3]).Status);
    }

    [Fact]
    public void Decompress_Failure_ThrowsWithStatus()
    {
        using var writer = new KafkaWriter();
        var bomb = Compress(CompressionType.Zstd, new byte[1 << 20]);
        var tooLarge = Assert.Throws<DecompressionException>(() => RecordCompression.Decompress(CompressionType.Zstd, bomb, writer, 1000));
        Assert.Equal(DecompressionStatus.OutputLimitExceeded, tooLarge.Status);

        var corrupt = Assert.Throws<DecompressionException>(() => RecordCompression.Decompress(CompressionType.Gzip, [1, 2, 3], writer));
        Assert.Equal(DecompressionStatus.Corrupt, corrupt.Status);
    }
}
