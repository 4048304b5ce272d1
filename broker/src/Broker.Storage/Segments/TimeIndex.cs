using System.Buffers.Binary;

namespace Broker.Storage.Segments;

/// <summary>
/// Sparse <c>.timeindex</c>: entries of (int64 timestamp, int32 relative offset), where the timestamp is the segment's
/// largest so far and the offset is the last offset of the first batch that reached it. Timestamps strictly increase.
/// One slot is kept free so that sealing can always record the segment's final maximum. One writer, lock-free
/// readers (see <see cref="IndexFile"/>).
/// </summary>
internal sealed class TimeIndex : IndexFile
{
    public const int EntrySize = 12;

    // Writer-side copy of the newest entry.
    private long _lastTimestamp = -1;
    private long _lastOffset = -1;

    public TimeIndex(string path, long baseOffset, FileMode mode) : base(path, baseOffset, EntrySize, mode)
    {
    }

    /// <summary>Full for ordinary appends: the last slot is reserved for <see cref="MaybeAppend"/> with final=true.</summary>
    public bool IsFull => Entries >= MaxEntries - 1;

    public long LastTimestamp => _lastTimestamp;

    public long LastOffset => _lastOffset;

    /// <summary>Adds (timestamp, offset) when the timestamp is newer than the last entry and there is room.</summary>
    public void MaybeAppend(long timestamp, long offset, bool final = false)
    {
        if (timestamp <= _lastTimestamp || offset < BaseOffset || Entries >= (final ? MaxEntries : MaxEntries - 1))
        {
            return;
        }

        Span<byte> entry = stackalloc byte[EntrySize];
        BinaryPrimitives.WriteInt64BigEndian(entry, timestamp);
        BinaryPrimitives.WriteInt32BigEndian(entry[8..], (int)(offset - BaseOffset));
        AppendEntry(entry);
        _lastTimestamp = timestamp;
        _lastOffset = offset;
    }

    /// <summary>
    /// Offset to start a timestamp search from: the offset of the largest entry whose timestamp is at most the target,
    /// or the segment base. Every batch before that entry's batch has a smaller maximum timestamp than the target.
    /// </summary>
    public long LookupOffset(long targetTimestamp)
    {
        Span<byte> entry = stackalloc byte[EntrySize];
        int lo = 0, hi = Entries - 1;
        var offset = BaseOffset;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            ReadEntry(mid, entry);
            if (BinaryPrimitives.ReadInt64BigEndian(entry) <= targetTimestamp)
            {
                offset = BaseOffset + BinaryPrimitives.ReadInt32BigEndian(entry[8..]);
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return offset;
    }

    /// <summary>Drops the entries pointing at <paramref name="endOffset"/> or later (log truncation). Writer only.</summary>
    public void TruncateToOffset(long endOffset)
    {
        Span<byte> entry = stackalloc byte[EntrySize];
        int lo = 0, hi = Entries - 1, keep = 0;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            ReadEntry(mid, entry);
            if (BaseOffset + BinaryPrimitives.ReadInt32BigEndian(entry[8..]) < endOffset)
            {
                keep = mid + 1;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        TruncateEntries(keep);
    }

    /// <summary>Consistency check of a loaded index: increasing timestamps, offsets inside [base, offsetLimit).</summary>
    public bool IsConsistent(long offsetLimit)
    {
        var count = Entries;
        if (count == 0)
        {
            return true;
        }

        Span<byte> first = stackalloc byte[EntrySize];
        ReadEntry(0, first);
        var firstOffset = BaseOffset + BinaryPrimitives.ReadInt32BigEndian(first[8..]);
        return firstOffset >= BaseOffset
            && _lastOffset >= firstOffset
            && _lastOffset < offsetLimit
            && _lastTimestamp >= BinaryPrimitives.ReadInt64BigEndian(first)
            && (count == 1 || _lastTimestamp > BinaryPrimitives.ReadInt64BigEndian(first));
    }

    protected override void OnLoaded(int entries)
    {
        if (entries == 0)
        {
            _lastTimestamp = -1;
            _lastOffset = -1;
            return;
        }

        Span<byte> entry = stackalloc byte[EntrySize];
        ReadEntry(entries - 1, entry);
        _lastTimestamp = BinaryPrimitives.ReadInt64BigEndian(entry);
        _lastOffset = BaseOffset + BinaryPrimitives.ReadInt32BigEndian(entry[8..]);
    }
}
