namespace Broker.Cluster.Raft;

/// <summary>
/// Metadata log retention (Kafka's KafkaMetadataLog.maybeClean): snapshots older than the latest, and the log after
/// them, stay until <c>metadata.max.retention.bytes</c> or <c>metadata.max.retention.ms</c> says otherwise. Each step
/// removes the oldest snapshot by moving the log start to the next one's end (<see cref="IRaftLog.DeleteBeforeSnapshot"/>),
/// so the latest snapshot is never removed and the log start is always a snapshot's end. Both limits are soft: with one
/// snapshot left nothing more goes, however large or old. Immutable; thread-safe (the log it cleans is not).
/// </summary>
/// <param name="MaxBytes"><c>metadata.max.retention.bytes</c>: the size of the log plus every snapshot above which the
/// oldest snapshot goes; negative for no limit.</param>
/// <param name="MaxMs"><c>metadata.max.retention.ms</c>: the age (now minus its LastContainedLogTimestamp) above which the
/// oldest snapshot goes; negative for no limit.</param>
public sealed record SnapshotRetention(long MaxBytes, long MaxMs)
{
    /// <summary>Kafka's defaults: 100 MiB and 7 days.</summary>
    public static SnapshotRetention Default { get; } = new(100L * 1024 * 1024, 7L * 24 * 60 * 60 * 1000);

    /// <summary>Nothing is ever removed by retention.</summary>
    public static SnapshotRetention Unlimited { get; } = new(-1, -1);

    /// <summary>How often the replica applies retention: Kafka's fixed 60 s snapshot cleaner period.</summary>
    public const int DefaultCheckIntervalMs = 60_000;

    /// <summary>Applies the size rule, then the age rule (Kafka's order); returns how many snapshots went.</summary>
    public int Apply(IRaftLog log, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(log);
        return ApplySize(log) + ApplyAge(log, nowMs);
    }

    private int ApplySize(IRaftLog log)
    {
        if (MaxBytes < 0)
        {
            return 0;
        }

        var snapshots = log.Snapshots.ToArray();
        var sizes = new long[snapshots.Length];
        long snapshotBytes = 0;
        for (var i = 0; i < snapshots.Length; i++)
        {
            sizes[i] = log.SnapshotSizeInBytes(snapshots[i]);
            snapshotBytes += sizes[i];
        }

        var removed = 0;
        for (var i = 0; i + 1 < snapshots.Length; i++)
        {
            // The log's size is read again each step: removing a snapshot also removes the segments below the next one.
            if (log.SizeInBytes + snapshotBytes <= MaxBytes || !log.DeleteBeforeSnapshot(snapshots[i + 1]))
            {
                break;
            }

            snapshotBytes -= sizes[i];
            removed++;
        }

        return removed;
    }

    private int ApplyAge(IRaftLog log, long nowMs)
    {
        if (MaxMs < 0)
        {
            return 0;
        }

        var snapshots = log.Snapshots.ToArray();
        var removed = 0;
        for (var i = 0; i + 1 < snapshots.Length; i++)
        {
            if (log.SnapshotTimestamp(snapshots[i]) is not { } timestamp || nowMs - timestamp <= MaxMs
                || !log.DeleteBeforeSnapshot(snapshots[i + 1]))
            {
                break;
            }

            removed++;
        }

        return removed;
    }
}
