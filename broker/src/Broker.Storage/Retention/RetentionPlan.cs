namespace Broker.Storage.Retention;

/// <summary>What retention needs to know about one segment, oldest first.</summary>
/// <param name="UpperBound">The next segment's base offset, or the log end offset for the active segment.</param>
/// <param name="LargestTimestamp">The segment's largest record timestamp, or its file's modification time when it has none.</param>
internal readonly record struct SegmentFacts(long BaseOffset, long UpperBound, long Size, long LargestTimestamp);

/// <summary>
/// Kafka's retention rules (UnifiedLog.deleteOldSegments) as a pure function: how many of the oldest segments go.
/// Segments are tested oldest first and the first survivor ends the scan. A segment can go only once the high
/// watermark has passed its upper bound. It goes when it lies wholly below the log start offset (any cleanup
/// policy), or, with cleanup.policy containing delete, when dropping it keeps the log at or above
/// retention.bytes, or when its largest timestamp is older than retention.ms. An empty segment (the freshly
/// rolled active one) never goes. Stateless; thread-safe.
/// </summary>
internal static class RetentionPlan
{
    public static int CountToDelete(ReadOnlySpan<SegmentFacts> segments, long logStartOffset, long highWatermark, LogConfig config, long nowMs)
    {
        long remaining = 0;
        foreach (var segment in segments)
        {
            remaining += segment.Size;
        }

        var count = 0;
        foreach (var segment in segments)
        {
            if (segment.Size == 0 || highWatermark < segment.UpperBound)
            {
                break;
            }

            var breached = segment.UpperBound <= logStartOffset
                || (config.DeleteRetentionEnabled
                    && ((config.RetentionBytes >= 0 && remaining - segment.Size >= config.RetentionBytes)
                        || (config.RetentionMs >= 0 && nowMs - segment.LargestTimestamp > config.RetentionMs)));
            if (!breached)
            {
                break;
            }

            remaining -= segment.Size;
            count++;
        }

        return count;
    }
}
