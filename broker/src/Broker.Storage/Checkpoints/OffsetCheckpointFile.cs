using System.Globalization;
using System.Text;
using Broker.Storage.FileSystem;

namespace Broker.Storage.Checkpoints;

/// <summary>One line of an offset checkpoint: a partition and an offset.</summary>
internal readonly record struct CheckpointEntry(string Topic, int Partition, long Offset);

/// <summary>
/// The per-log-dir offset checkpoint text format shared by <c>recovery-point-offset-checkpoint</c> and
/// <c>log-start-offset-checkpoint</c>: a version line (0), a count line, then "topic partition offset" lines.
/// Layout in docs/log-format.md. Stateless; thread-safe (callers serialise writers of one file).
/// </summary>
internal static class OffsetCheckpointFile
{
    public const int CurrentVersion = 0;

    /// <summary>Entries are written in the order given; callers sort them so the file is deterministic.</summary>
    public static string Format(IReadOnlyList<CheckpointEntry> entries)
    {
        var sb = new StringBuilder(32 + (entries.Count * 32));
        sb.Append(CurrentVersion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(entries.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var e in entries)
        {
            sb.Append(e.Topic).Append(' ')
              .Append(e.Partition.ToString(CultureInfo.InvariantCulture)).Append(' ')
              .Append(e.Offset.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return sb.ToString();
    }

    public static void Write(string path, IReadOnlyList<CheckpointEntry> entries) =>
        DurableFile.WriteAtomically(path, Format(entries));

    /// <summary>
    /// Reads a checkpoint. A missing file yields an empty map; a malformed one returns false with a reason, and
    /// the caller falls back to the safe choice (full recovery, log start = first segment).
    /// </summary>
    public static bool TryRead(string path, out Dictionary<(string Topic, int Partition), long> entries, out string? error)
    {
        entries = [];
        error = null;
        if (!File.Exists(path))
        {
            return true;
        }

        return TryParse(DurableFile.ReadAllText(path), entries, out error);
    }

    public static bool TryParse(string text, Dictionary<(string Topic, int Partition), long> entries, out string? error)
    {
        var lines = text.Split('\n');
        var n = lines.Length;
        if (n > 0 && lines[n - 1].Length == 0)
        {
            n--;
        }

        if (n < 2)
        {
            error = "missing version or count line";
            return false;
        }

        if (!int.TryParse(lines[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version != CurrentVersion)
        {
            error = $"unsupported version line '{lines[0]}'";
            return false;
        }

        if (!int.TryParse(lines[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count != n - 2)
        {
            error = $"count line '{lines[1]}' does not match {n - 2} entries";
            return false;
        }

        for (var i = 2; i < n; i++)
        {
            var parts = lines[i].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
                || !long.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var offset))
            {
                error = $"malformed entry line {i + 1}: '{lines[i]}'";
                return false;
            }

            entries[(parts[0], partition)] = offset;
        }

        error = null;
        return true;
    }
}
