using Broker.Storage.Retention;
using Broker.Storage.Segments;

namespace Broker.Storage;

/// <summary>Retention: whole oldest segments leave the log (see <see cref="RetentionPlan"/> and docs/log-format.md).</summary>
public sealed partial class PartitionLog
{
    private readonly List<(LogSegment Segment, long DueMs)> _retiredSegments = [];

    /// <summary>
    /// Deletes the oldest segments that retention.ms, retention.bytes or the log start offset have made obsolete,
    /// and moves the log start offset to the first remaining segment. Removed segments are renamed to
    /// <c>*.deleted</c> at once and their files removed file.delete.delay.ms later, so fetches that already hold
    /// them finish. When every segment goes, an empty active segment is rolled first so one always remains.
    /// Returns how many segments were removed. Serialised with appends.
    /// </summary>
    public int ApplyRetention(long nowMs) => DeleteOldSegments(nowMs, onlyBelowLogStart: false);

    /// <summary>
    /// DeleteRecords: moves the log start offset to <paramref name="offset"/> (never back, never beyond the high
    /// watermark) and removes the segments that now lie wholly below it, as retention would, but without applying
    /// retention.ms / retention.bytes. The new start is durable once the owner writes the log-start-offset checkpoint
    /// (<see cref="LogManager.Checkpoint"/>). Returns the log start offset after the call.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> is above the high watermark.</exception>
    public long DeleteRecordsBefore(long offset, long nowMs)
    {
        IncrementLogStartOffset(offset);
        DeleteOldSegments(nowMs, onlyBelowLogStart: true);
        return LogStartOffset;
    }

    private int DeleteOldSegments(long nowMs, bool onlyBelowLogStart)
    {
        int count;
        lock (_writeLock)
        {
            if (_closed)
            {
                return 0;
            }

            var segments = _segments;
            var facts = new SegmentFacts[segments.Length];
            for (var i = 0; i < segments.Length; i++)
            {
                var segment = segments[i];
                var upperBound = i + 1 < segments.Length ? segments[i + 1].BaseOffset : _logEndOffset;
                var largest = segment.MaxTimestamp >= 0 ? segment.MaxTimestamp : segment.LastModifiedMs;
                facts[i] = new SegmentFacts(segment.BaseOffset, upperBound, segment.Size, largest);
            }

            var config = _config;
            var rules = onlyBelowLogStart ? config with { RetentionMs = -1, RetentionBytes = -1 } : config;
            count = RetentionPlan.CountToDelete(facts, _logStartOffset, HighWatermark, rules, nowMs);
            if (count == 0)
            {
                return 0;
            }

            if (count == segments.Length)
            {
                Roll(_logEndOffset, nowMs, config);
                segments = _segments;
            }

            var remaining = segments[count..];
            _segments = remaining;
            if (remaining[0].BaseOffset > _logStartOffset)
            {
                Volatile.Write(ref _logStartOffset, remaining[0].BaseOffset);
                _epochs.TruncateFromStart(remaining[0].BaseOffset);
            }

            for (var i = 0; i < count; i++)
            {
                segments[i].RenameForDeletion();
                _retiredSegments.Add((segments[i], nowMs + config.FileDeleteDelayMs));
            }

            Volatile.Write(ref _directoryDirty, 1);
        }

        StorageLog.SegmentsRetained(_logger, count, Name, LogStartOffset);
        DeleteProducerSnapshotsBelow(_segments[0].BaseOffset);
        return count;
    }

    /// <summary>Removes the files of retired segments whose file.delete.delay.ms has passed (all of them when <paramref name="all"/>).</summary>
    public void DeleteRetiredSegments(long nowMs, bool all = false)
    {
        List<LogSegment>? due = null;
        lock (_writeLock)
        {
            for (var i = _retiredSegments.Count - 1; i >= 0; i--)
            {
                if (all || _retiredSegments[i].DueMs <= nowMs)
                {
                    (due ??= []).Add(_retiredSegments[i].Segment);
                    _retiredSegments.RemoveAt(i);
                }
            }
        }

        if (due is null)
        {
            return;
        }

        foreach (var segment in due)
        {
            segment.DeleteRenamedFiles();
        }
    }
}
