using Broker.Protocol.Records;
using Microsoft.Win32.SafeHandles;

namespace Broker.Storage.Segments;

/// <summary>
/// Walks batch headers of a segment file through a small caller-provided buffer (usually stack memory), so a
/// forward scan costs one positional read per buffer-full of small batches and allocates nothing.
/// Owned by one call; not thread-safe.
/// </summary>
internal ref struct BatchScanner
{
    /// <summary>Big enough to cover an index interval (4096 bytes) of small batches, small enough for the stack.</summary>
    public const int DefaultBufferSize = 4096;

    private readonly SafeFileHandle _file;
    private readonly Span<byte> _buffer;
    private readonly long _limit;
    private long _bufferStart;
    private int _bufferLength;

    /// <param name="file">Segment file.</param>
    /// <param name="buffer">At least <see cref="RecordBatchHeader.Size"/> bytes.</param>
    /// <param name="limit">File position the scan must not pass (the segment size the caller observed).</param>
    public BatchScanner(SafeFileHandle file, Span<byte> buffer, long limit)
    {
        _file = file;
        _buffer = buffer;
        _limit = limit;
        _bufferStart = 0;
        _bufferLength = 0;
    }

    /// <summary>
    /// The 61-byte header of the batch at <paramref name="position"/>, if the whole batch lies below the limit and its
    /// length field is sane; false at the end of the data.
    /// </summary>
    public bool TryReadHeader(long position, out ReadOnlySpan<byte> header)
    {
        header = default;
        if (position < 0 || position + RecordBatchHeader.Size > _limit)
        {
            return false;
        }

        if (position < _bufferStart || position + RecordBatchHeader.Size > _bufferStart + _bufferLength)
        {
            var wanted = (int)Math.Min(_buffer.Length, _limit - position);
            _bufferStart = position;
            _bufferLength = SegmentIo.ReadAtMost(_file, _buffer[..wanted], position);
            if (_bufferLength < RecordBatchHeader.Size)
            {
                return false;
            }
        }

        var view = _buffer.Slice((int)(position - _bufferStart), RecordBatchHeader.Size);
        var batchLength = RecordBatchHeader.BatchLength(view);
        if (batchLength < RecordBatchHeader.Size - RecordBatchHeader.LogOverhead
            || position + batchLength + RecordBatchHeader.LogOverhead > _limit)
        {
            return false;
        }

        header = view;
        return true;
    }
}

/// <summary>Positional read helpers. Stateless; thread-safe.</summary>
internal static class SegmentIo
{
    /// <summary>Reads until the span is full or the file ends; returns the bytes read.</summary>
    public static int ReadAtMost(SafeFileHandle file, Span<byte> destination, long position)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var n = RandomAccess.Read(file, destination[total..], position + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    /// <summary>Reads exactly the span; a short file is an I/O error (the log changed under the reader).</summary>
    public static void ReadExactly(SafeFileHandle file, Span<byte> destination, long position)
    {
        if (ReadAtMost(file, destination, position) != destination.Length)
        {
            ThrowShortRead(position, destination.Length);
        }
    }

    private static void ThrowShortRead(long position, int length) =>
        throw new IOException($"Segment file ended before {length} bytes at position {position} could be read.");
}
