using static Broker.Server.Configuration.ConfigNames;

namespace Broker.Server.Configuration;

/// <summary>Topic-level configuration key names, spelled as in Apache Kafka.</summary>
public static class TopicConfigNames
{
    public const string SegmentBytes = "segment.bytes";
    public const string SegmentMs = "segment.ms";
    public const string SegmentJitterMs = "segment.jitter.ms";
    public const string SegmentIndexBytes = "segment.index.bytes";
    public const string IndexIntervalBytes = "index.interval.bytes";
    public const string FlushMessages = "flush.messages";
    public const string FlushMs = "flush.ms";
    public const string RetentionMs = "retention.ms";
    public const string RetentionBytes = "retention.bytes";
    public const string MaxMessageBytes = "max.message.bytes";
    public const string MessageTimestampType = "message.timestamp.type";
    public const string MessageTimestampBeforeMaxMs = "message.timestamp.before.max.ms";
    public const string MessageTimestampAfterMaxMs = "message.timestamp.after.max.ms";
    public const string CleanupPolicy = "cleanup.policy";
    public const string CompressionType = "compression.type";
    public const string Preallocate = "preallocate";
    public const string MinInsyncReplicas = "min.insync.replicas";
    public const string UncleanLeaderElectionEnable = "unclean.leader.election.enable";
    public const string DeleteRetentionMs = "delete.retention.ms";
    public const string MinCompactionLagMs = "min.compaction.lag.ms";
    public const string MaxCompactionLagMs = "max.compaction.lag.ms";
    public const string MinCleanableDirtyRatio = "min.cleanable.dirty.ratio";
    public const string FileDeleteDelayMs = "file.delete.delay.ms";
}

/// <summary>
/// A broker key that supplies the default of a topic key; <see cref="Multiplier"/> converts its unit
/// (hours, minutes) to the topic key's milliseconds.
/// </summary>
public readonly record struct BrokerSynonym(string Name, long Multiplier = 1);

/// <summary>
/// Which broker keys supply each topic key's default, in precedence order: the first one with a value wins
/// (so <c>log.retention.ms</c> beats <c>log.retention.minutes</c>, which beats <c>log.retention.hours</c>).
/// DescribeConfigs reports the same lists as synonyms. Immutable; thread-safe.
/// </summary>
public static class TopicConfigSynonyms
{
    private const long Minute = 60_000;
    private const long Hour = 3_600_000;

    /// <summary>Every topic key with a broker-level default, in documentation order.</summary>
    public static IReadOnlyList<KeyValuePair<string, IReadOnlyList<BrokerSynonym>>> All { get; } =
    [
        Entry(TopicConfigNames.SegmentBytes, S(LogSegmentBytes)),
        Entry(TopicConfigNames.SegmentMs, S(LogRollMs), S(LogRollHours, Hour)),
        Entry(TopicConfigNames.SegmentJitterMs, S(LogRollJitterMs), S(LogRollJitterHours, Hour)),
        Entry(TopicConfigNames.SegmentIndexBytes, S(LogIndexSizeMaxBytes)),
        Entry(TopicConfigNames.IndexIntervalBytes, S(LogIndexIntervalBytes)),
        Entry(TopicConfigNames.FlushMessages, S(LogFlushIntervalMessages)),
        Entry(TopicConfigNames.FlushMs, S(LogFlushIntervalMs), S(LogFlushSchedulerIntervalMs)),
        Entry(TopicConfigNames.RetentionMs, S(LogRetentionMs), S(LogRetentionMinutes, Minute), S(LogRetentionHours, Hour)),
        Entry(TopicConfigNames.RetentionBytes, S(LogRetentionBytes)),
        Entry(TopicConfigNames.MaxMessageBytes, S(MessageMaxBytes)),
        Entry(TopicConfigNames.MessageTimestampType, S(LogMessageTimestampType)),
        Entry(TopicConfigNames.MessageTimestampBeforeMaxMs, S(LogMessageTimestampBeforeMaxMs)),
        Entry(TopicConfigNames.MessageTimestampAfterMaxMs, S(LogMessageTimestampAfterMaxMs)),
        Entry(TopicConfigNames.CleanupPolicy, S(LogCleanupPolicy)),
        Entry(TopicConfigNames.CompressionType, S(ConfigNames.CompressionType)),
        Entry(TopicConfigNames.Preallocate, S(LogPreallocate)),
        Entry(TopicConfigNames.MinInsyncReplicas, S(ConfigNames.MinInsyncReplicas)),
        Entry(TopicConfigNames.UncleanLeaderElectionEnable, S(ConfigNames.UncleanLeaderElectionEnable)),
        Entry(TopicConfigNames.DeleteRetentionMs, S(LogCleanerDeleteRetentionMs)),
        Entry(TopicConfigNames.MinCompactionLagMs, S(LogCleanerMinCompactionLagMs)),
        Entry(TopicConfigNames.MaxCompactionLagMs, S(LogCleanerMaxCompactionLagMs)),
        Entry(TopicConfigNames.MinCleanableDirtyRatio, S(LogCleanerMinCleanableRatio)),
        Entry(TopicConfigNames.FileDeleteDelayMs, S(LogSegmentDeleteDelayMs)),
    ];

    /// <summary>The broker synonyms of <paramref name="topicKey"/>; empty when it has no broker-level default.</summary>
    public static IReadOnlyList<BrokerSynonym> For(string topicKey)
    {
        foreach (var (name, synonyms) in All)
        {
            if (name == topicKey)
            {
                return synonyms;
            }
        }

        return [];
    }

    private static BrokerSynonym S(string brokerKey, long multiplier = 1) => new(brokerKey, multiplier);

    private static KeyValuePair<string, IReadOnlyList<BrokerSynonym>> Entry(string topicKey, params BrokerSynonym[] synonyms) =>
        new(topicKey, synonyms);
}
