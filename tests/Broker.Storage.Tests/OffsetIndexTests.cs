using Broker.Storage.Segments;

namespace Broker.Storage.Tests;

/// <summary>
/// The offset index's in-memory copy of its newest entries must answer every lookup exactly as the file's binary search
/// does: at every size around the number of entries kept, after truncation and after reopening the file.
/// </summary>
public sealed class OffsetIndexTests : IDisposable
{
    private const long BaseOffset = 1000;
    private const int IndexBytes = 64 * 1024;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(OffsetIndex.RecentEntries - 1)]
    [InlineData(OffsetIndex.RecentEntries)]
    [InlineData(OffsetIndex.RecentEntries + 1)]
    [InlineData(5 * OffsetIndex.RecentEntries + 3)]
    public void LookupPosition_AnySize_MatchesTheFloorOfTheEntries(int count)
    {
        using var index = Create("sizes.index");
        var entries = AppendEntries(index, count);

        AssertLookupsMatch(index, entries);
    }

    [Fact]
    public void LookupPosition_AfterTruncation_UsesOnlyTheEntriesKept()
    {
        using var index = Create("truncate.index");
        var entries = AppendEntries(index, 3 * OffsetIndex.RecentEntries);

        // Cut inside the kept range, then below it, appending new (different) entries after each cut.
        foreach (var keep in new[] { 3 * OffsetIndex.RecentEntries - 10, OffsetIndex.RecentEntries / 2 })
        {
            index.TruncateToPosition(entries[keep].Position);
            entries.RemoveRange(keep, entries.Count - keep);
            Assert.Equal(keep, index.Entries);
            AssertLookupsMatch(index, entries);

            var (lastOffset, lastPosition) = entries[^1];
            for (var i = 1; i <= 20; i++)
            {
                // Wider gaps than before, so an entry left over from before the cut would give a different answer.
                var entry = (lastOffset + 7 * i, lastPosition + 300 * i);
                index.TryAppend(entry.Item1, entry.Item2);
                entries.Add(entry);
            }

            AssertLookupsMatch(index, entries);
        }
    }

    [Fact]
    public void LookupPosition_Reopened_ReadsTheNewestEntriesBack()
    {
        List<(long Offset, int Position)> entries;
        var path = Path.Combine(_dir.Path, "reopen.index");
        using (var index = new OffsetIndex(path, BaseOffset, FileMode.CreateNew))
        {
            index.Preallocate(IndexBytes);
            entries = AppendEntries(index, 2 * OffsetIndex.RecentEntries + 5);
            index.TrimToValidSize(); // as a sealed segment's index is
        }

        using var reopened = new OffsetIndex(path, BaseOffset, FileMode.Open);
        Assert.True(reopened.TryLoadFromFileLength());
        AssertLookupsMatch(reopened, entries);
    }

    private OffsetIndex Create(string name)
    {
        var index = new OffsetIndex(Path.Combine(_dir.Path, name), BaseOffset, FileMode.CreateNew);
        index.Preallocate(IndexBytes);
        return index;
    }

    /// <summary>Entries with uneven gaps: offsets 3-5 apart, positions 100-400 bytes apart.</summary>
    private static List<(long Offset, int Position)> AppendEntries(OffsetIndex index, int count)
    {
        var entries = new List<(long, int)>(count);
        long offset = BaseOffset;
        var position = 0;
        for (var i = 0; i < count; i++)
        {
            offset += 3 + i % 3;
            position += 100 + 150 * (i % 3);
            index.TryAppend(offset, position);
            entries.Add((offset, position));
        }

        return entries;
    }

    /// <summary>Every target from below the first entry to past the last, against the floor computed here.</summary>
    private static void AssertLookupsMatch(OffsetIndex index, List<(long Offset, int Position)> entries)
    {
        var end = entries.Count == 0 ? BaseOffset + 10 : entries[^1].Offset + 10;
        for (var target = BaseOffset - 2; target <= end; target++)
        {
            var expected = 0;
            foreach (var (offset, position) in entries)
            {
                if (offset <= target)
                {
                    expected = position;
                }
            }

            Assert.True(expected == index.LookupPosition(target), $"target {target}: expected position {expected}, got {index.LookupPosition(target)}");
        }
    }
}
