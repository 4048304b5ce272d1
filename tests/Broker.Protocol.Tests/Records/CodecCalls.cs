using Broker.Protocol.Records;

namespace Broker.Protocol.Tests.Records;

/// <summary>Compress and decompress to arrays, checking the reported byte counts; shared by the codec tests.</summary>
internal static class CodecCalls
{
    public const int Limit = 16 * 1024 * 1024;

    public static byte[] Compress(CompressionType codec, ReadOnlySpan<byte> raw, int? level = null)
    {
        using var writer = new KafkaWriter();
        var n = RecordCompression.Compress(codec, raw, writer, level);
        Assert.Equal(writer.Position, n);
        return writer.WrittenSpan.ToArray();
    }

    public static (DecompressionStatus Status, byte[] Output) TryDecompress(CompressionType codec, ReadOnlySpan<byte> data, int limit = Limit)
    {
        using var writer = new KafkaWriter(16);
        var status = RecordCompression.TryDecompress(codec, data, writer, limit, out var written);
        Assert.Equal(writer.Position, written);
        return (status, writer.WrittenSpan.ToArray());
    }

    public static byte[] Decompress(CompressionType codec, ReadOnlySpan<byte> data)
    {
        var (status, output) = TryDecompress(codec, data);
        Assert.Equal(DecompressionStatus.Ok, status);
        return output;
    }

}
