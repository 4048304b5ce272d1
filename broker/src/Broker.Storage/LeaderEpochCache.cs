using Broker.Storage.Checkpoints;

namespace Broker.Storage;

/// <summary>The first offset a leader epoch wrote in a partition's log. Immutable.</summary>
public readonly record struct EpochEntry(int Epoch, long StartOffset);

/// <summary>
/// Kafka's leader-epoch cache (LeaderEpochFileCache): for each leader epoch that wrote to the log, its first offset,
/// ascending in both, persisted in <c>leader-epoch-checkpoint</c> on every change. Followers use it to find where their
/// log diverges from the leader's (OffsetForLeaderEpoch, Fetch's diverging epoch), so an entry is added when a batch of a
/// higher epoch is appended (or a replica becomes leader), and entries go when the log is truncated at either end.
/// </summary>
/// <remarks>
/// Writes happen under the owning <see cref="PartitionLog"/>'s writer lock; reads are lock-free on an immutable array
/// replaced on every change.
/// </remarks>
public sealed class LeaderEpochCache
{
    /// <summary>Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.</summary>
    public const int UndefinedEpoch = -1;
    public const long UndefinedOffset = -1;

    private readonly Func<string>? _directory;
    private volatile EpochEntry[] _entries;

    /// <param name="directory">Where the checkpoint is written (the partition directory, which moves when the log is
    /// deleted); null keeps the cache in memory.</param>
    internal LeaderEpochCache(Func<string>? directory, IEnumerable<EpochEntry> entries)
    {
        _directory = directory;
        _entries = [.. entries];
    }

    /// <summary>A cache that is never persisted (simulations and tests).</summary>
    public static LeaderEpochCache InMemory(IEnumerable<EpochEntry> entries) => new(null, entries);

    public IReadOnlyList<EpochEntry> Entries => _entries;

    /// <summary>The highest epoch that wrote to the log, or <see cref="UndefinedEpoch"/>.</summary>
    public int LatestEpoch => _entries is { Length: > 0 } entries ? entries[^1].Epoch : UndefinedEpoch;

    /// <summary>
    /// Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/>. The same epoch again is ignored;
    /// entries it contradicts (an epoch at least as high, or a start at least as late) are removed first, as Kafka does
    /// when a follower's log was rewritten by a new leader. Returns whether anything changed (and was persisted).
    /// </summary>
    internal bool Assign(int epoch, long startOffset)
    {
        if (epoch < 0)
        {
            return false;
        }

        var entries = _entries;
        if (entries.Length > 0 && entries[^1].Epoch == epoch && entries[^1].StartOffset <= startOffset)
        {
            return false;
        }

        var kept = 0;
        while (kept < entries.Length && entries[kept].Epoch < epoch && entries[kept].StartOffset < startOffset)
        {
            kept++;
        }

        Replace([.. entries.AsSpan(0, kept), new EpochEntry(epoch, startOffset)]);
        return true;
    }

    /// <summary>The log was truncated to end at <paramref name="endOffset"/>: epochs starting there or later go.</summary>
    internal void TruncateFromEnd(long endOffset)
    {
        var entries = _entries;
        var kept = entries.Length;
        while (kept > 0 && entries[kept - 1].StartOffset >= endOffset)
        {
            kept--;
        }

        if (kept != entries.Length)
        {
            Replace(entries[..kept]);
        }
    }

    /// <summary>
    /// The log now starts at <paramref name="startOffset"/>: epochs that ended before it go, and the epoch in force there
    /// starts there.
    /// </summary>
    internal void TruncateFromStart(long startOffset)
    {
        var entries = _entries;
        var firstKept = 0;
        while (firstKept + 1 < entries.Length && entries[firstKept + 1].StartOffset <= startOffset)
        {
            firstKept++;
        }

        if (entries.Length == 0 || entries[firstKept].StartOffset >= startOffset)
        {
            if (firstKept > 0)
            {
                Replace(entries[firstKept..]);
            }

            return;
        }

        var kept = entries[firstKept..];
        kept[0] = kept[0] with { StartOffset = startOffset };
        Replace(kept);
    }

    /// <summary>
    /// Kafka's endOffsetFor: the largest epoch at most <paramref name="requestedEpoch"/> and the offset where it ends (the
    /// start of the next higher epoch; the log end for the latest epoch); (-1, -1) when the epoch is undefined or above
    /// every known epoch. A requested epoch below every known one answers (requested, first known start).
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int requestedEpoch, long logEndOffset)
    {
        var entries = _entries;
        if (requestedEpoch == UndefinedEpoch || entries.Length == 0)
        {
            return (UndefinedEpoch, UndefinedOffset);
        }

        if (requestedEpoch == entries[^1].Epoch)
        {
            return (requestedEpoch, logEndOffset);
        }

        var higher = 0;
        while (higher < entries.Length && entries[higher].Epoch <= requestedEpoch)
        {
            higher++;
        }

        if (higher == entries.Length)
        {
            return (UndefinedEpoch, UndefinedOffset);
        }

        return (higher == 0 ? requestedEpoch : entries[higher - 1].Epoch, entries[higher].StartOffset);
    }

    /// <summary>The epoch of the leader that wrote <paramref name="offset"/>, or <see cref="UndefinedEpoch"/>.</summary>
    public int EpochForOffset(long offset)
    {
        var entries = _entries;
        for (var i = entries.Length - 1; i >= 0; i--)
        {
            if (entries[i].StartOffset <= offset)
            {
                return entries[i].Epoch;
            }
        }

        return UndefinedEpoch;
    }

    /// <summary>Writes the checkpoint (after loading, so a rebuilt or trimmed cache is on disk).</summary>
    internal void Persist()
    {
        if (_directory is not null)
        {
            LeaderEpochCheckpointFile.Write(_directory(), _entries);
        }
    }

    private void Replace(EpochEntry[] entries)
    {
        _entries = entries;
        Persist();
    }
}
