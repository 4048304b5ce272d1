using System.Buffers;
using Broker.Protocol;
using Broker.Storage.Segments;
using Microsoft.Win32.SafeHandles;

namespace Broker.Storage;

/// <summary>Outcome of <see cref="PartitionLog.Append"/>. Immutable.</summary>
/// <param name="FirstOffset">Offset assigned to the first record.</param>
/// <param name="LastOffset">Offset assigned to the last record.</param>
/// <param name="LogAppendTimeMs">The broker timestamp stamped on the batches, or -1 for CreateTime.</param>
/// <param name="LogStartOffset">The log start offset after the append (Produce response field).</param>
public readonly record struct AppendResult(long FirstOffset, long LastOffset, long LogAppendTimeMs, long LogStartOffset)
{
    /// <summary>Why nothing was appended (producer fencing or sequence checks), or None.</summary>
    public ErrorCode Error { get; init; }

    public string? ErrorMessage { get; init; }

    /// <summary>The batch was a producer's retry of one already in the log; the offsets are the original's.</summary>
    public bool Duplicate { get; init; }
}

/// <summary>A ListOffsets answer: the offset found, its record's timestamp and the leader epoch of its batch. Immutable.</summary>
public readonly record struct TimestampOffset(long Offset, long Timestamp, int LeaderEpoch)
{
    public void Deconstruct(out long offset, out long timestamp)
    {
        offset = Offset;
        timestamp = Timestamp;
    }
}

/// <summary>Per-partition error of a log read (Kafka error codes are assigned by the server).</summary>
public enum LogReadError
{
    None,

    /// <summary>The fetch offset is below the log start offset or above the log end offset (OFFSET_OUT_OF_RANGE).</summary>
    OffsetOutOfRange,
}

/// <summary>
/// Where the bytes of a fetch are: a range of whole batches in one segment file. The server copies them straight
/// into its response buffer with <see cref="CopyTo(Span{byte})"/>. Immutable; the copy methods are thread-safe.
/// </summary>
/// <remarks>
/// The result points at an open file. If the log is closed or deleted before the copy, the copy throws
/// <see cref="ObjectDisposedException"/>; a deleted log keeps its files open for file.delete.delay.ms to make that
/// unlikely. Offsets and watermarks are the values observed when the read started.
/// </remarks>
public readonly struct LogReadResult
{
    internal LogReadResult(LogReadError error, SafeFileHandle? file, long filePosition, int length,
        long logStartOffset, long logEndOffset, long highWatermark)
    {
        Error = error;
        File = file;
        FilePosition = filePosition;
        Length = length;
        LogStartOffset = logStartOffset;
        LogEndOffset = logEndOffset;
        HighWatermark = highWatermark;
    }

    public LogReadError Error { get; }

    /// <summary>The fetch offset was outside [log start, log end]: answer OFFSET_OUT_OF_RANGE.</summary>
    public bool OffsetOutOfRange => Error == LogReadError.OffsetOutOfRange;

    /// <summary>Segment file holding the batches; null when there is nothing to copy.</summary>
    public SafeFileHandle? File { get; }

    public long FilePosition { get; }

    /// <summary>Bytes of whole batches to copy; 0 for an empty read.</summary>
    public int Length { get; }

    public long LogStartOffset { get; }

    public long LogEndOffset { get; }

    public long HighWatermark { get; }

    public bool IsEmpty => Length == 0;

    /// <summary>Copies the batches into <paramref name="destination"/>, which must hold <see cref="Length"/> bytes.</summary>
    /// <returns>The number of bytes copied (<see cref="Length"/>).</returns>
    public int CopyTo(Span<byte> destination)
    {
        if (Length == 0 || File is null)
        {
            return 0;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length, nameof(destination));
        SegmentIo.ReadExactly(File, destination[..Length], FilePosition);
        return Length;
    }

    /// <summary>Copies the batches into <paramref name="writer"/> in chunks of at most 64 KiB.</summary>
    public int CopyTo(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (Length == 0 || File is null)
        {
            return 0;
        }

        const int Chunk = 64 * 1024;
        var copied = 0;
        while (copied < Length)
        {
            var wanted = Math.Min(Chunk, Length - copied);
            var span = writer.GetSpan(wanted)[..wanted];
            SegmentIo.ReadExactly(File, span, FilePosition + copied);
            writer.Advance(wanted);
            copied += wanted;
        }

        return copied;
    }
}

/// <summary>
/// A partition directory belongs to a different incarnation of the topic than the caller asked for
/// (INCONSISTENT_TOPIC_ID on the wire).
/// </summary>
public sealed class InconsistentTopicIdException : Exception
{
    public InconsistentTopicIdException(string message) : base(message)
    {
    }
}
