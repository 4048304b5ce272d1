using System.Buffers;
using System.Globalization;
using Broker.Protocol.Records;
using Microsoft.Win32.SafeHandles;

namespace Broker.Storage.Segments;

/// <summary>
/// Sequential batch validator for segment recovery. Reads the file in 1 MiB chunks and streams each batch through
/// CRC-32C, so a batch of any size is checked without holding it in memory (a corrupt length field cannot make
/// recovery allocate gigabytes). Owned by one recovery; not thread-safe.
/// </summary>
internal sealed class RecoveryReader : IDisposable
{
    private const int ChunkSize = 1 << 20;

    private readonly SafeFileHandle _file;
    private readonly long _fileLength;
    private byte[] _buffer;
    private long _bufferStart;
    private int _bufferLength;

    public RecoveryReader(SafeFileHandle file, long fileLength)
    {
        _file = file;
        _fileLength = fileLength;
        _buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
    }

    /// <summary>
    /// Checks the batch at <paramref name="position"/>: complete header, sane length, magic 2, offsets following
    /// <paramref name="previousLastOffset"/> and fitting the segment's relative range, CRC. Returns null when valid,
    /// otherwise why recovery stops here.
    /// </summary>
    public string? Validate(long position, long segmentBase, long previousLastOffset, out int totalSize, out long lastOffset,
        out long maxTimestamp)
    {
        totalSize = 0;
        lastOffset = -1;
        maxTimestamp = -1;
        var remaining = _fileLength - position;
        if (remaining < RecordBatchHeader.Size)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{remaining} trailing bytes are shorter than a batch header");
        }

        var header = Load(position, RecordBatchHeader.Size);
        var batchLength = RecordBatchHeader.BatchLength(header);
        if (batchLength < RecordBatchHeader.Size - RecordBatchHeader.LogOverhead)
        {
            return string.Create(CultureInfo.InvariantCulture, $"batch length {batchLength} is smaller than a batch header");
        }

        var total = batchLength + (long)RecordBatchHeader.LogOverhead;
        if (total > remaining)
        {
            return string.Create(CultureInfo.InvariantCulture, $"torn batch: {total} bytes declared, {remaining} left in the file");
        }

        if (position + total > int.MaxValue)
        {
            return "batch ends beyond the 2 GiB a segment can address";
        }

        var magic = RecordBatchHeader.Magic(header);
        if (magic != RecordBatchHeader.CurrentMagic)
        {
            return string.Create(CultureInfo.InvariantCulture, $"magic {magic} is not {RecordBatchHeader.CurrentMagic}");
        }

        var baseOffset = RecordBatchHeader.BaseOffset(header);
        var delta = RecordBatchHeader.LastOffsetDelta(header);
        if (delta < 0 || baseOffset < segmentBase || baseOffset <= previousLastOffset
            || baseOffset + delta - segmentBase > int.MaxValue)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"offsets [{baseOffset}, {baseOffset + delta}] do not follow {previousLastOffset} in segment {segmentBase}");
        }

        var storedCrc = RecordBatchHeader.Crc(header);
        lastOffset = baseOffset + delta;
        maxTimestamp = RecordBatchHeader.MaxTimestamp(header);

        uint crc = 0;
        var cursor = position + RecordBatchHeader.AttributesOffset;
        var end = position + total;
        while (cursor < end)
        {
            var chunk = LoadAvailable(cursor, end - cursor);
            crc = Crc32C.Append(crc, chunk);
            cursor += chunk.Length;
        }

        if (crc != storedCrc)
        {
            return string.Create(CultureInfo.InvariantCulture, $"CRC mismatch: stored {storedCrc:x8}, computed {crc:x8}");
        }

        totalSize = (int)total;
        return null;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ReadOnlySpan<byte> Load(long position, int length)
    {
        if (position < _bufferStart || position + length > _bufferStart + _bufferLength)
        {
            Fill(position);
            if (_bufferLength < length)
            {
                throw new IOException("Segment file shrank during recovery.");
            }
        }

        return _buffer.AsSpan((int)(position - _bufferStart), length);
    }

    /// <summary>Whatever is buffered from <paramref name="position"/> on (at most <paramref name="max"/> bytes), refilling if none.</summary>
    private ReadOnlySpan<byte> LoadAvailable(long position, long max)
    {
        if (position < _bufferStart || position >= _bufferStart + _bufferLength)
        {
            Fill(position);
            if (_bufferLength == 0)
            {
                throw new IOException("Segment file shrank during recovery.");
            }
        }

        var available = (int)Math.Min(_bufferStart + _bufferLength - position, max);
        return _buffer.AsSpan((int)(position - _bufferStart), available);
    }

    private void Fill(long position)
    {
        var wanted = (int)Math.Min(_buffer.Length, _fileLength - position);
        _bufferStart = position;
        _bufferLength = SegmentIo.ReadAtMost(_file, _buffer.AsSpan(0, wanted), position);
    }
}
