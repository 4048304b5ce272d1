using System.Globalization;
using System.Text;
using Broker.Storage.FileSystem;

namespace Broker.Storage.Checkpoints;

/// <summary>
/// <c>leader-epoch-checkpoint</c> in a partition directory, Kafka's checkpoint layout: "0" (version), the entry count,
/// then one "&lt;epoch&gt; &lt;startOffset&gt;" line per entry in ascending order. Written atomically (temporary file,
/// fsync, rename). Stateless; thread-safe.
/// </summary>
internal static class LeaderEpochCheckpointFile
{
    public const int CurrentVersion = 0;

    public static string Format(IReadOnlyList<EpochEntry> entries)
    {
        var text = new StringBuilder();
        text.Append(CurrentVersion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append(entries.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var entry in entries)
        {
            text.Append(entry.Epoch.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(entry.StartOffset.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return text.ToString();
    }

    public static void Write(string partitionDir, IReadOnlyList<EpochEntry> entries) =>
        DurableFile.WriteAtomically(Path.Combine(partitionDir, LogFileNames.LeaderEpochCheckpoint), Format(entries));

    /// <summary>The entries on disk; null when the file is missing or malformed (the caller rebuilds them from the log).</summary>
    public static List<EpochEntry>? TryRead(string partitionDir)
    {
        var path = Path.Combine(partitionDir, LogFileNames.LeaderEpochCheckpoint);
        return File.Exists(path) ? TryParse(DurableFile.ReadAllText(path)) : null;
    }

    public static List<EpochEntry>? TryParse(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.TrimEntries);
        if (lines.Length < 2 || lines[0] != "0" || !int.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || lines.Length < 2 + count)
        {
            return null;
        }

        var entries = new List<EpochEntry>(count);
        for (var i = 0; i < count; i++)
        {
            var parts = lines[2 + i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startOffset)
                || (entries.Count > 0 && (epoch <= entries[^1].Epoch || startOffset < entries[^1].StartOffset)))
            {
                return null;
            }

            entries.Add(new EpochEntry(epoch, startOffset));
        }

        return lines.Skip(2 + count).All(l => l.Length == 0) ? entries : null;
    }
}
