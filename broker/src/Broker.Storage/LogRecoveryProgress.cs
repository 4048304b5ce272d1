using Broker.Storage.FileSystem;

namespace Broker.Storage;

/// <summary>
/// How far <see cref="LogManager.Open"/> has got loading the partition logs, for the broker's health endpoint (the
/// remainingLogsToRecover / remainingSegmentsToRecover that Strimzi's agent reports). <see cref="Begin"/> counts the
/// partition directories and their segment files; each loaded log subtracts itself; <see cref="Complete"/> zeroes
/// both. Counts are approximate while loading (recovery may delete or create segments) and never read below 0.
/// Thread-safe: written by the loading thread, read by any.
/// </summary>
public sealed class LogRecoveryProgress
{
    private long _remainingLogs;
    private long _remainingSegments;

    /// <summary>Partition logs not loaded yet.</summary>
    public long RemainingLogs => Math.Max(0, Interlocked.Read(ref _remainingLogs));

    /// <summary>Segment files of the partition logs not loaded yet.</summary>
    public long RemainingSegments => Math.Max(0, Interlocked.Read(ref _remainingSegments));

    /// <summary>Counts what is about to be loaded from <paramref name="logDirs"/>, before the first log is opened.</summary>
    internal void Begin(IReadOnlyList<string> logDirs)
    {
        long logs = 0;
        long segments = 0;
        foreach (var logDir in logDirs)
        {
            if (!Directory.Exists(logDir))
            {
                continue;
            }

            foreach (var path in Directory.EnumerateDirectories(logDir))
            {
                if (!LogFileNames.TryParsePartitionDir(Path.GetFileName(path), out _, out _))
                {
                    continue;
                }

                logs++;
                foreach (var _ in Directory.EnumerateFiles(path, "*" + LogFileNames.LogSuffix))
                {
                    segments++;
                }
            }
        }

        Interlocked.Exchange(ref _remainingLogs, logs);
        Interlocked.Exchange(ref _remainingSegments, segments);
    }

    internal void LogLoaded(int segments)
    {
        Interlocked.Decrement(ref _remainingLogs);
        Interlocked.Add(ref _remainingSegments, -segments);
    }

    internal void Complete()
    {
        Interlocked.Exchange(ref _remainingLogs, 0);
        Interlocked.Exchange(ref _remainingSegments, 0);
    }
}
