using System.Globalization;

namespace Broker.Storage.FileSystem;

/// <summary>
/// Names of files and directories in a log dir, as Kafka spells them. Stateless; thread-safe.
/// </summary>
internal static class LogFileNames
{
    public const string LogSuffix = ".log";
    public const string IndexSuffix = ".index";
    public const string TimeIndexSuffix = ".timeindex";
    public const string DeletedSuffix = ".deleted";
    public const string CleanedSuffix = ".cleaned";
    public const string SwapSuffix = ".swap";
    public const string TmpSuffix = ".tmp";
    public const string ProducerSnapshotSuffix = ".snapshot";

    public const string DeleteDirSuffix = "-delete";
    public const string FutureDirSuffix = "-future";
    public const string StrayDirSuffix = "-stray";

    public const string MetaProperties = "meta.properties";
    public const string CleanShutdown = ".kafka_cleanshutdown";
    public const string RecoveryPointCheckpoint = "recovery-point-offset-checkpoint";
    public const string LogStartOffsetCheckpoint = "log-start-offset-checkpoint";
    public const string ReplicationOffsetCheckpoint = "replication-offset-checkpoint";

    /// <summary>The KRaft metadata log's topic: its high watermark is the quorum's, kept out of replication-offset-checkpoint.</summary>
    public const string MetadataTopic = "__cluster_metadata";
    public const string PartitionMetadata = "partition.metadata";
    public const string LeaderEpochCheckpoint = "leader-epoch-checkpoint";

    /// <summary>Kafka's limit on topic names (so that "name-partition.uuid-delete" fits in 255 characters).</summary>
    public const int MaxTopicLength = 249;

    /// <summary>The 20-digit zero-padded base offset every segment file is named after.</summary>
    public static string SegmentPrefix(long baseOffset) => baseOffset.ToString("D20", CultureInfo.InvariantCulture);

    public static string LogFile(string dir, long baseOffset) => Path.Combine(dir, SegmentPrefix(baseOffset) + LogSuffix);

    public static string IndexFile(string dir, long baseOffset) => Path.Combine(dir, SegmentPrefix(baseOffset) + IndexSuffix);

    public static string TimeIndexFile(string dir, long baseOffset) => Path.Combine(dir, SegmentPrefix(baseOffset) + TimeIndexSuffix);

    public static string ProducerSnapshotFile(string dir, long offset) => Path.Combine(dir, SegmentPrefix(offset) + ProducerSnapshotSuffix);

    /// <summary>Parses "00000000000000001234.log" style names; the stem must be exactly 20 digits.</summary>
    public static bool TryParseSegmentFile(string fileName, string suffix, out long baseOffset)
    {
        baseOffset = 0;
        if (!fileName.EndsWith(suffix, StringComparison.Ordinal) || fileName.Length != 20 + suffix.Length)
        {
            return false;
        }

        var stem = fileName.AsSpan(0, 20);
        foreach (var c in stem)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out baseOffset);
    }

    public static string PartitionDir(string topic, int partition) =>
        topic + "-" + partition.ToString(CultureInfo.InvariantCulture);

    /// <summary>Splits "&lt;topic&gt;-&lt;partition&gt;" on the last '-'.</summary>
    public static bool TryParsePartitionDir(string name, out string topic, out int partition)
    {
        topic = string.Empty;
        partition = -1;
        var dash = name.LastIndexOf('-');
        if (dash <= 0 || dash == name.Length - 1)
        {
            return false;
        }

        var digits = name.AsSpan(dash + 1);
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out partition))
        {
            return false;
        }

        topic = name[..dash];
        return IsValidTopicName(topic);
    }

    /// <summary>Kafka's legal topic names: 1-249 of [a-zA-Z0-9._-], not "." or "..". Also keeps paths inside the log dir.</summary>
    public static bool IsValidTopicName(string topic)
    {
        if (topic.Length is 0 or > MaxTopicLength || topic == "." || topic == "..")
        {
            return false;
        }

        foreach (var c in topic)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '.' || c == '_' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>"&lt;topic&gt;-&lt;partition&gt;.&lt;uuid without dashes&gt;-delete", the topic cut so the name fits 255 characters.</summary>
    public static string DeleteDirName(string topic, int partition, Guid id)
    {
        var suffix = "-" + partition.ToString(CultureInfo.InvariantCulture) + "." + id.ToString("N") + DeleteDirSuffix;
        var room = 255 - suffix.Length;
        return (topic.Length > room ? topic[..room] : topic) + suffix;
    }
}
