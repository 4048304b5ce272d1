using Broker.Protocol;

namespace Broker.Coordinators.Groups;

/// <summary>
/// Where the group coordinator persists its records: the partitions of <c>__consumer_offsets</c>. Implementations
/// must be thread-safe.
/// </summary>
public interface IGroupLog
{
    /// <summary>Partitions of the offsets topic: the existing topic's count, else the configured one.</summary>
    int PartitionCount { get; }

    /// <summary>Leader node of a partition, or -1 when the topic or a leader is missing.</summary>
    int LeaderOf(int partition);

    /// <summary>Creates the offsets topic if it is missing; returns true when it already existed.</summary>
    Task<bool> EnsureTopicAsync(CancellationToken cancellationToken);

    /// <summary>Appends the records as one batch to a partition led here; the error when it cannot.</summary>
    ErrorCode Append(int partition, IReadOnlyList<GroupLogRecord> records, long nowMs);

    /// <summary>Every record of a partition, oldest first (for loading).</summary>
    IEnumerable<GroupLogRecord> ReadAll(int partition);
}
