using Broker.Storage.FileSystem;
using Broker.Storage.Segments;
using Microsoft.Extensions.Logging;

namespace Broker.Storage;

/// <summary>What loading a partition directory produced. Immutable.</summary>
internal sealed record LoadedLog(LogSegment[] Segments, long LogEndOffset, long LogStartOffset);

/// <summary>
/// Opens a partition directory: removes leftovers, opens segments, trusts or recovers them, and settles the log
/// start and end offsets (docs/log-format.md, "Recovery"). Runs before the log is visible to anyone, so it is
/// single-threaded by construction. Stateless; thread-safe.
/// </summary>
internal static class PartitionLogLoader
{
    public static LoadedLog Load(string directory, string name, LogConfig config, bool cleanShutdown, long recoveryPoint,
        long logStartCheckpoint, long nowMs, ILogger logger)
    {
        var baseOffsets = CollectSegments(directory, logger);
        var segments = new List<LogSegment>(Math.Max(1, baseOffsets.Count));
        try
        {
            var indexesMissing = new List<bool>(baseOffsets.Count);
            foreach (var baseOffset in baseOffsets)
            {
                segments.Add(LogSegment.Open(directory, baseOffset, nowMs, RollJitter(config, name, baseOffset), out var missing));
                indexesMissing.Add(missing);
            }

            if (segments.Count == 0)
            {
                var start = Math.Max(0, logStartCheckpoint);
                segments.Add(LogSegment.Create(directory, start, config, nowMs, RollJitter(config, name, start)));
                DurableFile.FlushDirectory(directory);
                return new LoadedLog([.. segments], start, start);
            }

            // Segments before the one holding the recovery point were fsynced, indexes included, so they are trusted;
            // after a clean shutdown all are. A trusted segment whose indexes fail the checks is recovered after all.
            var recoverFrom = cleanShutdown ? segments.Count : Math.Max(0, FloorIndex(segments, recoveryPoint));
            for (var i = 0; i < recoverFrom; i++)
            {
                var offsetLimit = i + 1 < segments.Count ? segments[i + 1].BaseOffset : long.MaxValue;
                if (indexesMissing[i] || !segments[i].TryLoadFromIndexes(offsetLimit))
                {
                    StorageLog.IndexRebuild(logger, segments[i].BaseOffset, name);
                    recoverFrom = i;
                    break;
                }
            }

            if (recoverFrom < segments.Count)
            {
                StorageLog.RecoveringLog(logger, name, segments[recoverFrom].BaseOffset, recoveryPoint);
                RecoverFrom(segments, recoverFrom, config, name, logger);
            }

            for (var i = 0; i < segments.Count - 1; i++)
            {
                segments[i].Seal();
            }

            var active = segments[^1];
            active.PrepareForAppends(config.SegmentIndexBytes);
            var logEndOffset = active.NextOffset;
            var logStartOffset = Math.Max(logStartCheckpoint, segments[0].BaseOffset);
            if (logStartOffset > logEndOffset)
            {
                // The checkpoint says everything up to a later offset was deleted: keep nothing below it.
                StorageLog.LogStartBeyondEnd(logger, name, logStartOffset, logEndOffset);
                foreach (var segment in segments)
                {
                    segment.DeleteFiles();
                }

                segments.Clear();
                segments.Add(LogSegment.Create(directory, logStartOffset, config, nowMs, RollJitter(config, name, logStartOffset)));
                logEndOffset = logStartOffset;
                recoverFrom = 0;
            }

            // Recovered data may exist only in the page cache (the process died, not the machine). Make it durable
            // before the recovery point (= log end offset on return) claims it.
            if (recoverFrom < segments.Count)
            {
                for (var i = recoverFrom; i < segments.Count; i++)
                {
                    segments[i].Flush();
                }

                DurableFile.FlushDirectory(directory);
            }

            return new LoadedLog([.. segments], logEndOffset, logStartOffset);
        }
        catch
        {
            foreach (var segment in segments)
            {
                segment.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// segment.jitter.ms for one segment: a hash of the log name and base offset modulo min(jitter, segment.ms).
    /// Deterministic rather than random (no hidden random source), yet spread across partitions, which is the point.
    /// </summary>
    public static long RollJitter(LogConfig config, string logName, long baseOffset)
    {
        var bound = Math.Min(config.SegmentJitterMs, config.SegmentMs);
        if (bound <= 0)
        {
            return 0;
        }

        const ulong Prime = 1099511628211;
        var hash = 14695981039346656037;
        foreach (var c in logName)
        {
            hash = (hash ^ c) * Prime;
        }

        hash = (hash ^ (ulong)baseOffset) * Prime;
        return (long)(hash % (ulong)bound);
    }

    private static void RecoverFrom(List<LogSegment> segments, int first, LogConfig config, string name, ILogger logger)
    {
        for (var i = first; i < segments.Count; i++)
        {
            var segment = segments[i];
            var valid = segment.Recover(config.IndexIntervalBytes, config.SegmentIndexBytes, out var fileLength, out var reason);
            if (valid == fileLength)
            {
                continue;
            }

            // Later segments go first: if we crash in between, the bad tail is still there and found again, whereas
            // the reverse order could leave later segments after a gap.
            var deleted = segments.Count - i - 1;
            for (var j = segments.Count - 1; j > i; j--)
            {
                segments[j].DeleteFiles();
                segments.RemoveAt(j);
            }

            DurableFile.FlushDirectory(segment.Directory);
            segment.TruncateLogTo(valid);
            StorageLog.RecoveryTruncated(logger, segment.BaseOffset, name, fileLength, valid, reason ?? "unknown", deleted);
            return;
        }
    }

    /// <summary>Base offsets of the .log files, sorted; removes files of interrupted operations and orphan indexes.</summary>
    private static List<long> CollectSegments(string directory, ILogger logger)
    {
        var logs = new List<long>();
        var indexes = new List<(string Path, long BaseOffset)>();
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            var file = Path.GetFileName(path);

            // .deleted files are segments retention had already removed from the log when the broker stopped (their
            // delete was still delayed); .cleaned/.swap are compaction leftovers (nothing writes them yet). All are
            // stale. .tmp files are unfinished atomic writes whose target is intact.
            if (file.EndsWith(LogFileNames.DeletedSuffix, StringComparison.Ordinal)
                || file.EndsWith(LogFileNames.CleanedSuffix, StringComparison.Ordinal)
                || file.EndsWith(LogFileNames.SwapSuffix, StringComparison.Ordinal)
                || file.EndsWith(LogFileNames.TmpSuffix, StringComparison.Ordinal))
            {
                File.Delete(path);
                StorageLog.LeftoverRemoved(logger, path);
            }
            else if (LogFileNames.TryParseSegmentFile(file, LogFileNames.LogSuffix, out var baseOffset))
            {
                logs.Add(baseOffset);
            }
            else if (LogFileNames.TryParseSegmentFile(file, LogFileNames.IndexSuffix, out baseOffset)
                || LogFileNames.TryParseSegmentFile(file, LogFileNames.TimeIndexSuffix, out baseOffset))
            {
                indexes.Add((path, baseOffset));
            }
        }

        logs.Sort();
        foreach (var (path, baseOffset) in indexes)
        {
            if (logs.BinarySearch(baseOffset) < 0)
            {
                File.Delete(path);
                StorageLog.LeftoverRemoved(logger, path);
            }
        }

        return logs;
    }

    private static int FloorIndex(List<LogSegment> segments, long offset)
    {
        var found = -1;
        for (var i = 0; i < segments.Count && segments[i].BaseOffset <= offset; i++)
        {
            found = i;
        }

        return found;
    }
}
