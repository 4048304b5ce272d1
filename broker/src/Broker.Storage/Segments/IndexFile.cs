using Broker.Storage.FileSystem;
using Microsoft.Win32.SafeHandles;

namespace Broker.Storage.Segments;

/// <summary>
/// A file of fixed-width big-endian entries sorted by offset: the common part of <see cref="OffsetIndex"/> and
/// <see cref="TimeIndex"/>. Entries are written with positional writes into the page cache and read back with
/// positional reads (see docs/log-format.md for why not memory mapping).
/// </summary>
/// <remarks>
/// One writer (the owning log's writer lock, or the single-threaded loader) and any number of lock-free readers.
/// The writer writes an entry's bytes first and then publishes the new count with a release store; a reader loads
/// the count with an acquire load and only reads entries below it, so it never sees a half-written entry.
/// </remarks>
internal abstract class IndexFile : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly int _entrySize;
    private int _entries;
    private int _maxEntries;

    protected IndexFile(string path, long baseOffset, int entrySize, FileMode mode)
    {
        FilePath = path;
        BaseOffset = baseOffset;
        _entrySize = entrySize;
        _file = DurableFile.OpenReadWrite(path, mode);
    }

    public string FilePath { get; }

    public long BaseOffset { get; }

    /// <summary>Published entry count (acquire load).</summary>
    public int Entries => Volatile.Read(ref _entries);

    /// <summary>Capacity of the file as currently sized. Writer only.</summary>
    public int MaxEntries => _maxEntries;

    public long FileLength => RandomAccess.GetLength(_file);

    /// <summary>Takes the entry count from the file length. False if the length is not a whole number of entries.</summary>
    public bool TryLoadFromFileLength()
    {
        var length = FileLength;
        if (length % _entrySize != 0 || length / _entrySize > int.MaxValue)
        {
            return false;
        }

        var count = (int)(length / _entrySize);
        _maxEntries = count;
        Volatile.Write(ref _entries, count);
        OnLoaded(count);
        return true;
    }

    /// <summary>Sizes the file so appends need no growth: segment.index.bytes rounded down to whole entries.</summary>
    public void Preallocate(int segmentIndexBytes)
    {
        var max = Math.Max(_entries, segmentIndexBytes / _entrySize);
        RandomAccess.SetLength(_file, (long)max * _entrySize);
        _maxEntries = max;
    }

    /// <summary>Cuts a preallocated file to its entries, so a sealed index can be loaded by file length.</summary>
    public void TrimToValidSize()
    {
        var count = _entries;
        if (FileLength != (long)count * _entrySize)
        {
            RandomAccess.SetLength(_file, (long)count * _entrySize);
        }

        _maxEntries = count;
    }

    /// <summary>Drops every entry (recovery rebuilds them) and preallocates again. Only while no reader exists.</summary>
    public void Reset(int segmentIndexBytes)
    {
        Volatile.Write(ref _entries, 0);
        _maxEntries = 0;
        RandomAccess.SetLength(_file, 0);
        OnLoaded(0);
        Preallocate(segmentIndexBytes);
    }

    public void Flush() => RandomAccess.FlushToDisk(_file);

    public void Dispose() => _file.Dispose();

    /// <summary>Writes the next entry, then publishes it. Caller checks capacity.</summary>
    protected void AppendEntry(ReadOnlySpan<byte> entry)
    {
        var count = _entries;
        RandomAccess.Write(_file, entry, (long)count * _entrySize);
        Volatile.Write(ref _entries, count + 1);
    }

    /// <summary>Reads entries <paramref name="first"/>.. into <paramref name="destination"/> (a whole number of entries) in one read.</summary>
    protected void ReadEntries(int first, Span<byte> destination)
    {
        var read = RandomAccess.Read(_file, destination, (long)first * _entrySize);
        if (read != destination.Length)
        {
            ThrowShortRead();
        }
    }

    protected void ReadEntry(int index, Span<byte> destination) => ReadEntries(index, destination[.._entrySize]);

    /// <summary>
    /// Keeps only the first <paramref name="count"/> entries (log truncation). The count is published first, so readers
    /// stop using the dropped entries at once; their bytes stay in the preallocated file until appends overwrite them.
    /// Writer only.
    /// </summary>
    protected void TruncateEntries(int count)
    {
        if (count < _entries)
        {
            Volatile.Write(ref _entries, count);
            OnLoaded(count);
        }
    }

    /// <summary>Restores writer-side state (last entry) after the entry count changed by loading or reset.</summary>
    protected abstract void OnLoaded(int entries);

    private void ThrowShortRead() => throw new IOException($"Index file '{FilePath}' is shorter than its entry count.");
}
