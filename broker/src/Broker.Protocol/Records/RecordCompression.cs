using System.Buffers;

namespace Broker.Protocol.Records;

/// <summary>Outcome of a bounded decompression.</summary>
public enum DecompressionStatus
{
    Ok = 0,

    /// <summary>The input is not a valid stream for the codec (bad magic, bad checksum, truncated, trailing garbage).</summary>
    Corrupt,

    /// <summary>The output would exceed the caller's limit; nothing beyond the limit was written.</summary>
    OutputLimitExceeded,

    /// <summary>Codec ids 5-7, or <see cref="CompressionType.None"/> passed to a decompressor.</summary>
    UnsupportedCodec,
}

/// <summary>Thrown by <see cref="RecordCompression.Decompress"/> when <see cref="RecordCompression.TryDecompress"/> would fail. Immutable.</summary>
public sealed class DecompressionException : Exception
{
    public DecompressionException(DecompressionStatus status, string message) : base(message)
    {
        Status = status;
    }

    public DecompressionStatus Status { get; }
}

/// <summary>
/// The four record-batch codecs, as Kafka clients write and read them (docs/log-format.md). Compression covers
/// only the records section of a batch. Decompression is always bounded by a caller-given output limit so that a
/// small compressed blob cannot expand into unbounded memory. Stateless; thread-safe.
/// </summary>
public static class RecordCompression
{
    /// <summary>Default cap on the decompressed records section of one batch (64 MiB).</summary>
    public const int DefaultMaxDecompressedBytes = 64 * 1024 * 1024;

    /// <summary>True for the codec ids a batch may carry (0-4).</summary>
    public static bool IsSupported(CompressionType codec) => (uint)codec <= (uint)CompressionType.Zstd;

    /// <summary>
    /// Decompresses <paramref name="compressed"/> into <paramref name="output"/>, writing at most
    /// <paramref name="maxOutputBytes"/> bytes. Never throws for bad input; exceptions raised by
    /// <paramref name="output"/> itself propagate.
    /// </summary>
    public static DecompressionStatus TryDecompress(
        CompressionType codec,
        ReadOnlySpan<byte> compressed,
        IBufferWriter<byte> output,
        int maxOutputBytes,
        out int bytesWritten)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(maxOutputBytes);
        return codec switch
        {
            CompressionType.Gzip => GzipCodec.Decompress(compressed, output, maxOutputBytes, out bytesWritten),
            CompressionType.Snappy => SnappyCodec.Decompress(compressed, output, maxOutputBytes, out bytesWritten),
            CompressionType.Lz4 => Lz4FrameCodec.Decompress(compressed, output, maxOutputBytes, out bytesWritten),
            CompressionType.Zstd => ZstdCodec.Decompress(compressed, output, maxOutputBytes, out bytesWritten),
            _ => Unsupported(out bytesWritten),
        };
    }

    /// <summary>Like <see cref="TryDecompress"/> but throws <see cref="DecompressionException"/> on failure.</summary>
    /// <returns>Bytes written to <paramref name="output"/>.</returns>
    public static int Decompress(
        CompressionType codec,
        ReadOnlySpan<byte> compressed,
        IBufferWriter<byte> output,
        int maxOutputBytes = DefaultMaxDecompressedBytes)
    {
        var status = TryDecompress(codec, compressed, output, maxOutputBytes, out var written);
        if (status != DecompressionStatus.Ok)
        {
            ThrowFailed(codec, status, maxOutputBytes);
        }

        return written;
    }

    /// <summary>
    /// Compresses <paramref name="raw"/> into <paramref name="output"/> in the framing the Java client writes.
    /// <paramref name="level"/> follows the topic configs: gzip -1..9 (default -1 = zlib default), lz4 1..17
    /// (default: fast mode; 3..12 select LZ4-HC, above 12 the maximum), zstd as libzstd (default 3).
    /// Snappy has no levels. Out-of-range levels are clamped.
    /// </summary>
    /// <returns>Bytes written to <paramref name="output"/>.</returns>
    public static int Compress(CompressionType codec, ReadOnlySpan<byte> raw, IBufferWriter<byte> output, int? level = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        return codec switch
        {
            CompressionType.None => CopyRaw(raw, output),
            CompressionType.Gzip => GzipCodec.Compress(raw, output, level),
            CompressionType.Snappy => SnappyCodec.Compress(raw, output),
            CompressionType.Lz4 => Lz4FrameCodec.Compress(raw, output, level),
            CompressionType.Zstd => ZstdCodec.Compress(raw, output, level),
            _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "Unknown compression codec."),
        };
    }

    private static int CopyRaw(ReadOnlySpan<byte> raw, IBufferWriter<byte> output)
    {
        output.Write(raw);
        return raw.Length;
    }

    private static DecompressionStatus Unsupported(out int bytesWritten)
    {
        bytesWritten = 0;
        return DecompressionStatus.UnsupportedCodec;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowFailed(CompressionType codec, DecompressionStatus status, int limit) =>
        throw new DecompressionException(status, status switch
        {
            DecompressionStatus.OutputLimitExceeded => $"{codec} data decompresses to more than {limit} bytes.",
            DecompressionStatus.UnsupportedCodec => $"Compression codec {(int)codec} cannot be decompressed.",
            _ => $"Corrupt {codec} data.",
        });
}

/// <summary>Helpers shared by the streaming decoders to honour the output limit. Stateless; thread-safe.</summary>
internal static class BoundedOutput
{
    /// <summary>Streaming decoders ask for output space in pieces of at most this many bytes.</summary>
    public const int ChunkSize = 64 * 1024;

    /// <summary>
    /// A span of exactly min(<paramref name="want"/>, remaining + 1) bytes: one byte past the limit lets a decoder
    /// prove that the output would overflow without ever committing the extra byte.
    /// </summary>
    public static Span<byte> Next(IBufferWriter<byte> output, int written, int limit, int want)
    {
        var size = (int)Math.Min(want, (long)limit - written + 1);
        return output.GetSpan(size)[..size];
    }
}
