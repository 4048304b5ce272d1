using System.Globalization;
using Broker.Protocol.Records;

namespace Broker.Storage;

/// <summary>
/// Per-log settings under Kafka's topic-level names (segment.bytes, segment.ms, ...). Immutable; thread-safe.
/// A change of topic config replaces the whole object (<see cref="PartitionLog.UpdateConfig"/>).
/// </summary>
/// <remarks>
/// <see cref="From"/> applies Kafka's range rules and names the offending key. Values set directly through
/// <c>init</c> are trusted, which lets tests use tiny segments that an operator could not configure.
/// </remarks>
public sealed record LogConfig
{
    public const string SegmentBytesKey = "segment.bytes";
    public const string SegmentMsKey = "segment.ms";
    public const string SegmentJitterMsKey = "segment.jitter.ms";
    public const string IndexIntervalBytesKey = "index.interval.bytes";
    public const string SegmentIndexBytesKey = "segment.index.bytes";
    public const string FlushMessagesKey = "flush.messages";
    public const string FlushMsKey = "flush.ms";
    public const string RetentionMsKey = "retention.ms";
    public const string RetentionBytesKey = "retention.bytes";
    public const string MaxMessageBytesKey = "max.message.bytes";
    public const string MessageTimestampTypeKey = "message.timestamp.type";
    public const string CompressionTypeKey = "compression.type";
    public const string CleanupPolicyKey = "cleanup.policy";
    public const string MessageTimestampBeforeMaxMsKey = "message.timestamp.before.max.ms";
    public const string MessageTimestampAfterMaxMsKey = "message.timestamp.after.max.ms";
    public const string PreallocateKey = "preallocate";
    public const string FileDeleteDelayMsKey = "file.delete.delay.ms";
    public const string MinInsyncReplicasKey = "min.insync.replicas";

    /// <summary>Kafka 4 refuses segments below 1 MiB from configuration.</summary>
    public const int MinConfigurableSegmentBytes = 1024 * 1024;

    /// <summary>Kafka's defaults (broker log.* defaults are the same values).</summary>
    public static LogConfig Default { get; } = new();

    /// <summary>segment.bytes: roll when the active segment would exceed this size.</summary>
    public int SegmentBytes { get; init; } = 1024 * 1024 * 1024;

    /// <summary>segment.ms: roll when the active segment spans more than this much time.</summary>
    public long SegmentMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>segment.jitter.ms: per-segment reduction of segment.ms so partitions do not roll together.</summary>
    public long SegmentJitterMs { get; init; }

    /// <summary>index.interval.bytes: log bytes between two sparse index entries.</summary>
    public int IndexIntervalBytes { get; init; } = 4096;

    /// <summary>segment.index.bytes: size an active segment's index files are preallocated to.</summary>
    public int SegmentIndexBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>flush.messages: fsync once this many messages are unflushed.</summary>
    public long FlushMessages { get; init; } = long.MaxValue;

    /// <summary>flush.ms: fsync once the last flush is this old (checked by <see cref="PartitionLog.MaybeFlush"/>).</summary>
    public long FlushMs { get; init; } = long.MaxValue;

    /// <summary>retention.ms (stored; enforcement is not implemented yet). -1 means unlimited.</summary>
    public long RetentionMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>retention.bytes (stored; enforcement is not implemented yet). -1 means unlimited.</summary>
    public long RetentionBytes { get; init; } = -1;

    /// <summary>max.message.bytes: the largest batch the protocol layer accepts (1 MiB + 12).</summary>
    public int MaxMessageBytes { get; init; } = 1024 * 1024 + 12;

    /// <summary>message.timestamp.type.</summary>
    public TimestampType MessageTimestampType { get; init; } = TimestampType.CreateTime;

    /// <summary>cleanup.policy: "delete" (default), "compact", or both.</summary>
    public string CleanupPolicy { get; init; } = "delete";

    /// <summary>True when cleanup.policy contains delete, so retention.ms and retention.bytes apply.</summary>
    public bool DeleteRetentionEnabled => CleanupPolicy.Split(',').Contains("delete");

    /// <summary>
    /// compression.type as the codec the leader stores, or null for "producer" (keep what the producer sent).
    /// "uncompressed" is <see cref="CompressionType.None"/>.
    /// </summary>
    public CompressionType? TargetCompression { get; init; }

    /// <summary>message.timestamp.before.max.ms: how far in the past a CreateTime timestamp may lie.</summary>
    public long MessageTimestampBeforeMaxMs { get; init; } = long.MaxValue;

    /// <summary>message.timestamp.after.max.ms: how far in the future a CreateTime timestamp may lie (Kafka 4: 1 h).</summary>
    public long MessageTimestampAfterMaxMs { get; init; } = 3_600_000;

    /// <summary>True when message.timestamp.type is LogAppendTime (the value Append's logAppendTime takes).</summary>
    public bool LogAppendTime => MessageTimestampType == TimestampType.LogAppendTime;

    /// <summary>preallocate: size a new segment file to segment.bytes up front.</summary>
    public bool Preallocate { get; init; }

    /// <summary>file.delete.delay.ms: how long a deleted log's files stay readable before removal.</summary>
    public long FileDeleteDelayMs { get; init; } = 60_000;

    /// <summary>min.insync.replicas: in-sync replicas an acks=all write needs (and below which the high watermark stops).</summary>
    public int MinInsyncReplicas { get; init; } = 1;

    /// <summary>
    /// Builds a config from topic-level keys (unknown keys are ignored: they belong to other layers), starting
    /// from <paramref name="defaults"/> (the broker's log.* settings) or Kafka's defaults.
    /// </summary>
    /// <exception cref="InvalidLogConfigException">A value does not parse or is out of range; names the key.</exception>
    public static LogConfig From(IReadOnlyDictionary<string, string> values, LogConfig? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        var d = defaults ?? Default;
        return d with
        {
            SegmentBytes = GetInt(values, SegmentBytesKey, d.SegmentBytes, MinConfigurableSegmentBytes),
            SegmentMs = GetLong(values, SegmentMsKey, d.SegmentMs, 1),
            SegmentJitterMs = GetLong(values, SegmentJitterMsKey, d.SegmentJitterMs, 0),
            IndexIntervalBytes = GetInt(values, IndexIntervalBytesKey, d.IndexIntervalBytes, 0),
            SegmentIndexBytes = GetInt(values, SegmentIndexBytesKey, d.SegmentIndexBytes, 4),
            FlushMessages = GetLong(values, FlushMessagesKey, d.FlushMessages, 1),
            FlushMs = GetLong(values, FlushMsKey, d.FlushMs, 0),
            RetentionMs = GetLong(values, RetentionMsKey, d.RetentionMs, -1),
            RetentionBytes = GetLong(values, RetentionBytesKey, d.RetentionBytes, long.MinValue),
            MaxMessageBytes = GetInt(values, MaxMessageBytesKey, d.MaxMessageBytes, 0),
            MessageTimestampType = GetTimestampType(values, d.MessageTimestampType),
            TargetCompression = GetCompression(values, d.TargetCompression),
            CleanupPolicy = GetCleanupPolicy(values, d.CleanupPolicy),
            MessageTimestampBeforeMaxMs = GetLong(values, MessageTimestampBeforeMaxMsKey, d.MessageTimestampBeforeMaxMs, 0),
            MessageTimestampAfterMaxMs = GetLong(values, MessageTimestampAfterMaxMsKey, d.MessageTimestampAfterMaxMs, 0),
            Preallocate = GetBool(values, PreallocateKey, d.Preallocate),
            FileDeleteDelayMs = GetLong(values, FileDeleteDelayMsKey, d.FileDeleteDelayMs, 0),
            MinInsyncReplicas = GetInt(values, MinInsyncReplicasKey, d.MinInsyncReplicas, 1),
        };
    }

    /// <summary>
    /// Checks topic-level values for CreateTopics/AlterConfigs without building a config: null if they are valid,
    /// otherwise the message naming the first bad key. Null values (a key being removed) and keys that are not
    /// storage settings are skipped.
    /// </summary>
    public static string? Validate(IReadOnlyDictionary<string, string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var present = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
        {
            if (value is not null)
            {
                present[key] = value;
            }
        }

        try
        {
            From(present);
            return null;
        }
        catch (InvalidLogConfigException ex)
        {
            return ex.Message;
        }
    }

    private static int GetInt(IReadOnlyDictionary<string, string> values, string key, int fallback, int min)
    {
        if (!values.TryGetValue(key, out var text))
        {
            return fallback;
        }

        if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidLogConfigException(key, $"Invalid value '{text}' for configuration {key}: not a 32-bit integer.");
        }

        if (value < min)
        {
            throw new InvalidLogConfigException(key, $"Invalid value {value} for configuration {key}: must be at least {min}.");
        }

        return value;
    }

    private static long GetLong(IReadOnlyDictionary<string, string> values, string key, long fallback, long min)
    {
        if (!values.TryGetValue(key, out var text))
        {
            return fallback;
        }

        if (!long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidLogConfigException(key, $"Invalid value '{text}' for configuration {key}: not a 64-bit integer.");
        }

        if (value < min)
        {
            throw new InvalidLogConfigException(key, $"Invalid value {value} for configuration {key}: must be at least {min}.");
        }

        return value;
    }

    private static bool GetBool(IReadOnlyDictionary<string, string> values, string key, bool fallback)
    {
        if (!values.TryGetValue(key, out var text))
        {
            return fallback;
        }

        // Java's ConfigDef accepts exactly "true"/"false", case-insensitively.
        return text.Trim().ToUpperInvariant() switch
        {
            "TRUE" => true,
            "FALSE" => false,
            _ => throw new InvalidLogConfigException(key, $"Invalid value '{text}' for configuration {key}: expected true or false."),
        };
    }

    private static string GetCleanupPolicy(IReadOnlyDictionary<string, string> values, string fallback)
    {
        if (!values.TryGetValue(CleanupPolicyKey, out var text))
        {
            return fallback;
        }

        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        foreach (var part in parts)
        {
            if (part is not ("delete" or "compact"))
            {
                throw new InvalidLogConfigException(CleanupPolicyKey,
                    $"Invalid value '{text}' for configuration {CleanupPolicyKey}: '{part}' is not one of delete, compact.");
            }
        }

        return string.Join(',', parts);
    }

    private static CompressionType? GetCompression(IReadOnlyDictionary<string, string> values, CompressionType? fallback)
    {
        if (!values.TryGetValue(CompressionTypeKey, out var text))
        {
            return fallback;
        }

        return text switch
        {
            "producer" => null,
            "uncompressed" => CompressionType.None,
            "gzip" => CompressionType.Gzip,
            "snappy" => CompressionType.Snappy,
            "lz4" => CompressionType.Lz4,
            "zstd" => CompressionType.Zstd,
            _ => throw new InvalidLogConfigException(CompressionTypeKey,
                $"Invalid value '{text}' for configuration {CompressionTypeKey}: must be one of uncompressed, zstd, lz4, snappy, gzip, producer."),
        };
    }

    private static TimestampType GetTimestampType(IReadOnlyDictionary<string, string> values, TimestampType fallback)
    {
        if (!values.TryGetValue(MessageTimestampTypeKey, out var text))
        {
            return fallback;
        }

        // Kafka matches these names exactly.
        return text.Trim() switch
        {
            "CreateTime" => TimestampType.CreateTime,
            "LogAppendTime" => TimestampType.LogAppendTime,
            _ => throw new InvalidLogConfigException(
                MessageTimestampTypeKey,
                $"Invalid value '{text}' for configuration {MessageTimestampTypeKey}: expected CreateTime or LogAppendTime."),
        };
    }
}

/// <summary>A topic-level log setting is malformed or out of range. Maps to INVALID_CONFIG on the wire.</summary>
public sealed class InvalidLogConfigException : Exception
{
    public InvalidLogConfigException(string key, string message) : base(message)
    {
        Key = key;
    }

    /// <summary>The configuration key at fault, e.g. <c>segment.bytes</c>.</summary>
    public string Key { get; }
}
