namespace Broker.Cluster.Raft;

/// <summary>An offset and the leader epoch that wrote the record before it (Kafka's OffsetAndEpoch). Immutable.</summary>
/// <param name="Offset">An end offset: the offset the next record gets, or where an epoch ends.</param>
/// <param name="Epoch">The leader epoch of the last record below <paramref name="Offset"/> (0 for an empty log).</param>
public readonly record struct OffsetAndEpoch(long Offset, int Epoch) : IComparable<OffsetAndEpoch>
{
    /// <summary>Raft's "at least as up to date": the later epoch wins, then the longer log.</summary>
    public int CompareTo(OffsetAndEpoch other) =>
        Epoch != other.Epoch ? Epoch.CompareTo(other.Epoch) : Offset.CompareTo(other.Offset);

    public static bool operator <(OffsetAndEpoch left, OffsetAndEpoch right) => left.CompareTo(right) < 0;

    public static bool operator >(OffsetAndEpoch left, OffsetAndEpoch right) => left.CompareTo(right) > 0;

    public static bool operator <=(OffsetAndEpoch left, OffsetAndEpoch right) => left.CompareTo(right) <= 0;

    public static bool operator >=(OffsetAndEpoch left, OffsetAndEpoch right) => left.CompareTo(right) >= 0;
}

/// <summary>
/// The replicated log under the Raft core (Kafka's ReplicatedLog): v2 record batches whose partitionLeaderEpoch is the
/// Raft epoch that wrote them. Two implementations: <see cref="PartitionRaftLog"/> over the broker's segment storage
/// (directory <c>__cluster_metadata-0</c>) and <see cref="MemoryRaftLog"/> for deterministic simulation.
/// </summary>
/// <remarks>
/// Owned by one <see cref="RaftReplica"/>; not thread-safe. Only whole batches are appended, read and truncated.
/// </remarks>
public interface IRaftLog
{
    /// <summary>Offset the next record gets, and the epoch of the last batch (0 when the log is empty).</summary>
    OffsetAndEpoch EndOffset { get; }

    /// <summary>Every offset below it survives a crash.</summary>
    long FlushedOffset { get; }

    /// <summary>
    /// Appends batches built by the leader: base offsets are assigned from <see cref="EndOffset"/> and every batch's
    /// partitionLeaderEpoch is set to <paramref name="epoch"/>. Returns the offset after the last appended record.
    /// </summary>
    long AppendAsLeader(Memory<byte> batches, int epoch);

    /// <summary>
    /// Appends a leader's batches keeping their offsets and epochs; the first must start at <see cref="EndOffset"/>.
    /// Returns the new end offset.
    /// </summary>
    long AppendAsFollower(ReadOnlyMemory<byte> batches);

    /// <summary>Removes every batch holding an offset at or after <paramref name="offset"/> (durably, whole batches);
    /// returns the new end offset.</summary>
    long TruncateTo(long offset);

    /// <summary>
    /// The largest epoch at most <paramref name="epoch"/> that wrote to the log and the offset where it ends (the start
    /// of the next epoch, or the log end). When every epoch in the log is larger, (first start offset,
    /// <paramref name="epoch"/>), as Kafka's leader-epoch cache answers; (0, 0) for an empty log.
    /// </summary>
    OffsetAndEpoch EndOffsetForEpoch(int epoch);

    /// <summary>
    /// Whole batches from the one holding <paramref name="offset"/>, at most <paramref name="maxBytes"/> unless the first
    /// batch alone is larger (it is returned whole). Empty at the log end. The memory belongs to the caller.
    /// </summary>
    ReadOnlyMemory<byte> Read(long offset, int maxBytes);

    /// <summary>The first offset the log holds; offsets below it exist only in snapshots. It is 0 or the end of a
    /// snapshot the log holds (<see cref="Snapshots"/>), and moves only through <see cref="DeleteBeforeSnapshot"/> or a
    /// full truncation in <see cref="StoreSnapshot"/>.</summary>
    long StartOffset { get; }

    /// <summary>The newest snapshot (its end offset is exclusive, its epoch that of the last record it covers), or null.</summary>
    OffsetAndEpoch? LatestSnapshot { get; }

    /// <summary>Every snapshot held, oldest first (a dynamic quorum's bootstrap checkpoint at offset 0 is not one).</summary>
    IReadOnlyList<OffsetAndEpoch> Snapshots { get; }

    /// <summary>Bytes the log's batches take (whole segments for a file log, including any not yet deleted below the start).</summary>
    long SizeInBytes { get; }

    /// <summary>Bytes of snapshot <paramref name="id"/>, which must be held.</summary>
    long SnapshotSizeInBytes(OffsetAndEpoch id);

    /// <summary>
    /// The LastContainedLogTimestamp of snapshot <paramref name="id"/>'s header record (what metadata.max.retention.ms is
    /// measured from), or null when it has none.
    /// </summary>
    long? SnapshotTimestamp(OffsetAndEpoch id);

    /// <summary>The whole content of snapshot <paramref name="id"/>. The memory belongs to the caller.</summary>
    ReadOnlyMemory<byte> ReadSnapshot(OffsetAndEpoch id);

    /// <summary>
    /// Stores a snapshot of committed state durably. When it ends past the log, or the log disagrees with its epoch at
    /// its end (a follower installing the leader's snapshot), the whole log goes and restarts empty at its end offset,
    /// and the older snapshots go with it (Kafka's truncateToLatestSnapshot). Otherwise nothing else changes: older
    /// snapshots and the log below stay until retention removes them (<see cref="SnapshotRetention"/>).
    /// </summary>
    void StoreSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> content);

    /// <summary>
    /// Kafka's deleteBeforeSnapshot: when <paramref name="id"/> is held, ends after <see cref="StartOffset"/> and at most
    /// at the committed offset, moves the start of the log to its end, drops the batches (or segments) wholly below it and
    /// every older snapshot. False, changing nothing, otherwise.
    /// </summary>
    bool DeleteBeforeSnapshot(OffsetAndEpoch id);

    /// <summary>Makes everything appended so far durable.</summary>
    void Flush();

    /// <summary>Tells the storage the committed offset (consumers of the partition read below it).</summary>
    void UpdateHighWatermark(long offset);
}
