namespace Broker.Coordinators.Groups;

/// <summary>The broker settings the group coordinator applies (Kafka's names in the comments). Immutable; thread-safe.</summary>
public sealed record GroupCoordinatorOptions
{
    /// <summary>group.min.session.timeout.ms</summary>
    public int MinSessionTimeoutMs { get; init; } = 6000;

    /// <summary>group.max.session.timeout.ms</summary>
    public int MaxSessionTimeoutMs { get; init; } = 1_800_000;

    /// <summary>group.initial.rebalance.delay.ms</summary>
    public int InitialRebalanceDelayMs { get; init; } = 3000;

    /// <summary>group.max.size</summary>
    public int MaxGroupSize { get; init; } = int.MaxValue;

    /// <summary>offset.metadata.max.bytes</summary>
    public int OffsetMetadataMaxBytes { get; init; } = 4096;

    /// <summary>offsets.retention.minutes, in milliseconds.</summary>
    public long OffsetsRetentionMs { get; init; } = 10080L * 60 * 1000;

    /// <summary>offsets.retention.check.interval.ms</summary>
    public long OffsetsRetentionCheckIntervalMs { get; init; } = 600_000;

    /// <summary>Source of the UUID in new member ids (<c>clientId-uuid</c>); injected so tests are deterministic.</summary>
    public Func<Guid> NewGuid { get; init; } = Guid.NewGuid;
}
