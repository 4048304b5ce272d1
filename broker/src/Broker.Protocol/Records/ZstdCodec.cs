using System.Buffers;
using ZstdSharp;

namespace Broker.Protocol.Records;

/// <summary>
/// zstd (codec 4) via ZstdSharp. Decoding is streaming, so frames written by streaming encoders without a content
/// size work, and output is produced in bounded pieces. Stateless; thread-safe (each call owns its context).
/// </summary>
internal static class ZstdCodec
{
    public const int DefaultLevel = 3;

    public static DecompressionStatus Decompress(ReadOnlySpan<byte> compressed, IBufferWriter<byte> output, int limit, out int written)
    {
        written = 0;
        if (compressed.IsEmpty)
        {
            return DecompressionStatus.Corrupt;
        }

        using var decompressor = new Decompressor();
        var consumed = 0;
        while (true)
        {
            var span = BoundedOutput.Next(output, written, limit, BoundedOutput.ChunkSize);
            var status = decompressor.UnwrapStream(compressed[consumed..], span, out var read, out var produced);
            consumed += read;
            if (status == OperationStatus.InvalidData)
            {
                return DecompressionStatus.Corrupt;
            }

            if (produced > limit - written)
            {
                return DecompressionStatus.OutputLimitExceeded;
            }

            output.Advance(produced);
            written += produced;
            switch (status)
            {
                case OperationStatus.Done when consumed == compressed.Length:
                    return DecompressionStatus.Ok;
                case OperationStatus.NeedMoreData when consumed == compressed.Length && produced == 0:
                    return DecompressionStatus.Corrupt; // input ends inside a frame
                default:
                    continue; // more output space needed, or output still buffered in the context
            }
        }
    }

    public static int Compress(ReadOnlySpan<byte> raw, IBufferWriter<byte> output, int? level)
    {
        var clamped = Math.Clamp(level ?? DefaultLevel, Compressor.MinCompressionLevel, Compressor.MaxCompressionLevel);
        using var compressor = new Compressor(clamped);
        var span = output.GetSpan(Compressor.GetCompressBound(raw.Length));
        var length = compressor.Wrap(raw, span);
        output.Advance(length);
        return length;
    }
}
