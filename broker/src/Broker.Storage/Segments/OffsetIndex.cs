using System.Buffers.Binary;

namespace Broker.Storage.Segments;

/// <summary>
/// Sparse <c>.index</c>: entries of (int32 offset relative to the segment base, int32 byte position of a batch in
/// the <c>.log</c>), where the offset is that batch's last offset. Both columns strictly increase, so the file can be
/// binary searched by either. One writer, lock-free readers (see <see cref="IndexFile"/>).
/// </summary>
internal sealed class OffsetIndex : IndexFile
{
    public const int EntrySize = 8;

    /// <summary>How many of the newest entries are kept in memory as well (see <see cref="_recent"/>).</summary>
    internal const int RecentEntries = 64;

    // Entry j packed as (relativeOffset << 32) | position (-1: none) in slot j % RecentEntries, for the newest
    // RecentEntries entries; tail lookups (the common case) are answered from them without a file read. Once batches
    // are bigger than index.interval.bytes every batch has an entry, and a caught-up follower or consumer asks for the
    // first offset of the newest batch, which is below that batch's own (last-offset) entry: without these, each such
    // fetch binary-searched the file, one pread per probe (most of the RF 3 benchmark's reads). A slot a reader reads
    // may already hold a newer entry (j + RecentEntries); that is still a real entry, so still a valid lower bound
    // when its offset is at most the target, and otherwise the reader falls back to the file.
    private readonly long[] _recent = new long[RecentEntries];

    public OffsetIndex(string path, long baseOffset, FileMode mode) : base(path, baseOffset, EntrySize, mode)
    {
        Array.Fill(_recent, -1);
    }

    public bool IsFull => Entries >= MaxEntries;

    /// <summary>Position of the newest entry, or 0 when empty.</summary>
    public int LastPosition
    {
        get
        {
            var last = Newest();
            return last < 0 ? 0 : (int)last;
        }
    }

    /// <summary>Adds (offset, position) if there is room; entries past capacity are skipped (the log rolls first).</summary>
    public void TryAppend(long offset, int position)
    {
        if (Entries >= MaxEntries)
        {
            return;
        }

        var relative = (int)(offset - BaseOffset);
        Span<byte> entry = stackalloc byte[EntrySize];
        BinaryPrimitives.WriteInt32BigEndian(entry, relative);
        BinaryPrimitives.WriteInt32BigEndian(entry[4..], position);
        var packed = Pack(relative, position);
        // The slot before the count: a reader that sees the new count sees the new slot.
        Volatile.Write(ref _recent[Entries % RecentEntries], packed);
        AppendEntry(entry);
    }

    /// <summary>
    /// Byte position to start scanning for <paramref name="targetOffset"/>: the position of the largest entry whose
    /// offset is at most the target, or 0.
    /// </summary>
    public int LookupPosition(long targetOffset)
    {
        var relative = targetOffset - BaseOffset;
        if (relative <= 0)
        {
            return 0;
        }

        // The newest entry is the first one tried.
        var count = Entries;
        if (TryFloorInRecent(count, relative, out var recent))
        {
            return recent;
        }

        Span<byte> entry = stackalloc byte[EntrySize];
        int lo = 0, hi = count - 1, position = 0;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            ReadEntry(mid, entry);
            if (BinaryPrimitives.ReadInt32BigEndian(entry) <= relative)
            {
                position = BinaryPrimitives.ReadInt32BigEndian(entry[4..]);
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return position;
    }

    /// <summary>
    /// The floor of <paramref name="relative"/> among the newest in-memory entries below <paramref name="count"/>: the
    /// position of the newest entry whose offset is at most it, or 0 when every entry of the index is in memory and
    /// above it. False when the floor may be older than the entries kept (the caller searches the file).
    /// </summary>
    private bool TryFloorInRecent(int count, long relative, out int position)
    {
        var oldest = Math.Max(0, count - RecentEntries);
        for (var j = count - 1; j >= oldest; j--)
        {
            var packed = Volatile.Read(ref _recent[j % RecentEntries]);
            if (packed >= 0 && (packed >> 32) <= relative)
            {
                position = (int)packed;
                return true;
            }
        }

        // Nothing kept is at or below the target. Only when the kept entries were the whole index (and none was replaced
        // by a newer one meanwhile, which could hide the floor) is the answer the start of the segment.
        position = 0;
        return oldest == 0 && Entries < RecentEntries;
    }

    /// <summary>
    /// Position of the largest entry whose batch starts at or before <paramref name="maxPosition"/> and whose offset
    /// is below <paramref name="offsetLimit"/>, or 0. Every batch before that position satisfies both bounds, so a
    /// read only has to scan forward from it to find where to stop.
    /// </summary>
    public int FloorPosition(long maxPosition, long offsetLimit)
    {
        var relativeLimit = offsetLimit - BaseOffset;
        var last = Newest();
        if (last >= 0 && (int)last <= maxPosition && (last >> 32) < relativeLimit)
        {
            return (int)last;
        }

        Span<byte> entry = stackalloc byte[EntrySize];
        int lo = 0, hi = Entries - 1, position = 0;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            ReadEntry(mid, entry);
            var entryPosition = BinaryPrimitives.ReadInt32BigEndian(entry[4..]);
            if (entryPosition <= maxPosition && BinaryPrimitives.ReadInt32BigEndian(entry) < relativeLimit)
            {
                position = entryPosition;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return position;
    }

    /// <summary>Drops the entries of batches at or after byte <paramref name="position"/> (log truncation). Writer only.</summary>
    public void TruncateToPosition(int position)
    {
        Span<byte> entry = stackalloc byte[EntrySize];
        int lo = 0, hi = Entries - 1, keep = 0;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            ReadEntry(mid, entry);
            if (BinaryPrimitives.ReadInt32BigEndian(entry[4..]) < position)
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

    /// <summary>
    /// Cheap consistency check of a loaded (trusted) index against its log: entries increase and point inside the log.
    /// A preallocated file that was never trimmed fails it because its tail reads as zero entries.
    /// </summary>
    public bool IsConsistent(long logSize)
    {
        var count = Entries;
        if (count == 0)
        {
            return true;
        }

        Span<byte> first = stackalloc byte[EntrySize];
        Span<byte> last = stackalloc byte[EntrySize];
        ReadEntry(0, first);
        ReadEntry(count - 1, last);
        var firstRelative = BinaryPrimitives.ReadInt32BigEndian(first);
        var lastRelative = BinaryPrimitives.ReadInt32BigEndian(last);
        var lastPosition = BinaryPrimitives.ReadInt32BigEndian(last[4..]);
        return firstRelative > 0
            && lastRelative >= firstRelative
            && lastPosition >= BinaryPrimitives.ReadInt32BigEndian(first[4..])
            && lastPosition < logSize
            && (count == 1 || lastRelative > firstRelative);
    }

    protected override void OnLoaded(int entries)
    {
        // The kept entries are those of the file again: the newest (up to RecentEntries) read back, the other slots
        // emptied (-1 matches no target).
        Array.Fill(_recent, -1);
        if (entries == 0)
        {
            return;
        }

        var first = Math.Max(0, entries - RecentEntries);
        Span<byte> tail = stackalloc byte[RecentEntries * EntrySize];
        tail = tail[..((entries - first) * EntrySize)];
        ReadEntries(first, tail);
        for (var j = first; j < entries; j++)
        {
            var entry = tail[((j - first) * EntrySize)..];
            var relative = BinaryPrimitives.ReadInt32BigEndian(entry);
            var position = BinaryPrimitives.ReadInt32BigEndian(entry[4..]);
            Volatile.Write(ref _recent[j % RecentEntries], relative < 0 || position < 0 ? -1 : Pack(relative, position));
        }
    }

    /// <summary>
    /// The newest entry, packed, or -1. A reader may see one newer than the count it loaded (the writer moved on by
    /// <see cref="RecentEntries"/> meanwhile); any real entry is a valid lower bound, so that is harmless.
    /// </summary>
    private long Newest()
    {
        var count = Entries;
        return count == 0 ? -1 : Volatile.Read(ref _recent[(count - 1) % RecentEntries]);
    }

    private static long Pack(int relative, int position) => ((long)relative << 32) | (uint)position;
}
