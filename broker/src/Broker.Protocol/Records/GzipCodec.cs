using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Broker.Protocol.Records;

/// <summary>
/// gzip (codec 1): RFC 1952 members via zlib. Reading accepts any sequence of valid members, as
/// <see cref="GZipStream"/> does. Stateless; thread-safe.
/// </summary>
internal static class GzipCodec
{
    private const int MinMemberSize = 18; // 10-byte header + 8-byte trailer, around at least an empty deflate block

    /// <summary>What an empty input compresses to: header, one empty final block, zero CRC and size.</summary>
    private static ReadOnlySpan<byte> EmptyMember => [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];

    public static DecompressionStatus Decompress(ReadOnlySpan<byte> compressed, IBufferWriter<byte> output, int limit, out int written)
    {
        written = 0;
        if (compressed.Length < MinMemberSize || compressed[0] != 0x1F || compressed[1] != 0x8B)
        {
            return DecompressionStatus.Corrupt;
        }

        try
        {
            var status = Inflate(compressed, output, limit, out written, out var crc, crcFrom: 0);
            if (status != DecompressionStatus.Ok)
            {
                return status;
            }

            // GZipStream reports a clean end for a stream cut short and ignores bytes after the last member, so the
            // final member's trailer (CRC-32 and length of its output) is checked here. With one member, the usual
            // case, it covers all the output; with several, the last member's output is the final ISIZE bytes, and
            // a second pass computes their CRC.
            var trailerCrc = BinaryPrimitives.ReadUInt32LittleEndian(compressed[^8..]);
            var lastMemberSize = BinaryPrimitives.ReadUInt32LittleEndian(compressed[^4..]);
            if (lastMemberSize == (uint)written && crc == trailerCrc)
            {
                return DecompressionStatus.Ok;
            }

            if (lastMemberSize < (uint)written)
            {
                using var discard = new DiscardingWriter();
                Inflate(compressed, discard, limit, out _, out crc, crcFrom: written - (int)lastMemberSize);
                if (crc == trailerCrc)
                {
                    return DecompressionStatus.Ok;
                }
            }

            return DecompressionStatus.Corrupt;
        }
        catch (InvalidDataException)
        {
            return DecompressionStatus.Corrupt;
        }
    }

    /// <summary>Inflates all members, computing the CRC-32 of the output from position <paramref name="crcFrom"/> on.</summary>
    private static unsafe DecompressionStatus Inflate(
        ReadOnlySpan<byte> compressed, IBufferWriter<byte> output, int limit, out int written, out uint crc, int crcFrom)
    {
        written = 0;
        crc = 0;

        // The span is pinned for the whole (synchronous) read, so an unmanaged stream over it is safe and saves
        // copying the input into a managed array just to satisfy the Stream API.
        fixed (byte* source = compressed)
        {
            using var input = new UnmanagedMemoryStream(source, compressed.Length);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            while (true)
            {
                var span = BoundedOutput.Next(output, written, limit, BoundedOutput.ChunkSize);
                var read = gzip.Read(span);
                if (read == 0)
                {
                    return DecompressionStatus.Ok;
                }

                if (read > limit - written)
                {
                    return DecompressionStatus.OutputLimitExceeded;
                }

                var skip = Math.Clamp(crcFrom - written, 0, read);
                crc = Crc32Ieee.Append(crc, span[skip..read]);
                output.Advance(read);
                written += read;
            }
        }
    }

    public static int Compress(ReadOnlySpan<byte> raw, IBufferWriter<byte> output, int? level)
    {
        if (raw.IsEmpty)
        {
            // GZipStream writes nothing at all for empty input; readers (and ours) expect one complete member.
            output.Write(EmptyMember);
            return EmptyMember.Length;
        }

        var options = new ZLibCompressionOptions { CompressionLevel = Math.Clamp(level ?? -1, -1, 9) };
        using var sink = new BufferWriterStream(output);
        using (var gzip = new GZipStream(sink, options, leaveOpen: true))
        {
            gzip.Write(raw);
        }

        return checked((int)sink.BytesWritten);
    }

    /// <summary>Output sink for the verification pass: one reused chunk, nothing kept.</summary>
    private sealed class DiscardingWriter : IBufferWriter<byte>, IDisposable
    {
        private byte[] _chunk = ArrayPool<byte>.Shared.Rent(BoundedOutput.ChunkSize + 1);

        public void Advance(int count)
        {
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => Chunk(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Chunk(sizeHint).Span;

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = [];
        }

        private Memory<byte> Chunk(int sizeHint)
        {
            if (sizeHint > _chunk.Length)
            {
                ArrayPool<byte>.Shared.Return(_chunk);
                _chunk = ArrayPool<byte>.Shared.Rent(sizeHint);
            }

            return _chunk;
        }
    }
}

/// <summary>Write-only stream that appends to an <see cref="IBufferWriter{T}"/>. Not thread-safe.</summary>
internal sealed class BufferWriterStream : Stream
{
    private readonly IBufferWriter<byte> _output;

    public BufferWriterStream(IBufferWriter<byte> output)
    {
        _output = output;
    }

    public long BytesWritten { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => BytesWritten;

    public override long Position
    {
        get => BytesWritten;
        set => throw new NotSupportedException();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _output.Write(buffer);
        BytesWritten += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
