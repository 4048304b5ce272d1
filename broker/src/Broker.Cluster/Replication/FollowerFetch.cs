using System.Runtime.InteropServices;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Broker.Storage;

namespace Broker.Cluster.Replication;

/// <summary>What processing one partition of a follower fetch did. Immutable value.</summary>
public enum FollowerFetchOutcome
{
    /// <summary>Nothing new (or only the high watermark / log start moved).</summary>
    None,

    /// <summary>Batches were appended.</summary>
    Appended,

    /// <summary>The log was truncated (diverging epoch or out of range); fetching continues from the new end.</summary>
    Truncated,

    /// <summary>An error: the partition waits replica.fetch.backoff.ms (or newer metadata) before the next fetch.</summary>
    Delayed,
}

/// <summary>
/// The follower's handling of one partition of a Fetch response (Kafka's AbstractFetcherThread.processFetchRequest and
/// ReplicaFetcherThread.processPartitionData): append the leader's batches as they are, truncate on a diverging epoch,
/// follow the leader's high watermark (capped at the local log end) and log start offset, and treat
/// OFFSET_OUT_OF_RANGE as Kafka does. Allocates nothing per record. Stateless; callers serialise per partition.
/// </summary>
public static class FollowerFetch
{
    /// <summary>The request entry for <paramref name="state"/>: current leader epoch and last fetched epoch set.</summary>
    public static FetchRequest.FetchPartition FillRequest(FollowerFetchState state, int partitionMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(state);
        var log = state.Partition.Log;
        var entry = state.Request;
        entry.Partition = state.Partition.Index;
        entry.CurrentLeaderEpoch = state.LeaderEpoch;
        entry.FetchOffset = state.FetchOffset;
        entry.LastFetchedEpoch = state.FetchOffset == log.LogEndOffset ? log.LeaderEpochs.LatestEpoch : LeaderEpochCache.UndefinedEpoch;
        entry.LogStartOffset = log.LogStartOffset;
        entry.PartitionMaxBytes = partitionMaxBytes;
        return entry;
    }

    /// <param name="state">The partition's fetch state; its fetch offset moves on.</param>
    /// <param name="data">The leader's answer for the partition. Its records are appended before this returns.</param>
    /// <exception cref="ArgumentException">The leader's batches do not continue the log (the partition should back off).</exception>
    public static FollowerFetchOutcome Process(FollowerFetchState state, FetchResponse.PartitionData data, long nowMs, int backoffMs)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(data);
        var log = state.Partition.Log;
        switch ((ErrorCode)data.ErrorCode)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.OffsetOutOfRange:
                return HandleOutOfRange(state, log, data);
            default:
                // NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, unknown topic: newer metadata will
                // name the right leader and epoch; until then, back off rather than hammer the old leader.
                state.DelayedUntilMs = nowMs + backoffMs;
                return FollowerFetchOutcome.Delayed;
        }

        // Kafka's follower treats a diverging epoch as present when its epoch is set.
        if (data.DivergingEpoch is { Epoch: >= 0 } diverging)
        {
            var point = FollowerTruncation.Compute(diverging.Epoch, diverging.EndOffset, log.LeaderEpochs, log.LogEndOffset, log.HighWatermark);
            log.TruncateTo(Math.Max(point.Offset, log.LogStartOffset));
            state.FetchOffset = log.LogEndOffset;
            state.Lag = -1;
            return FollowerFetchOutcome.Truncated;
        }

        var outcome = FollowerFetchOutcome.None;
        if (data.Records is { Length: > 0 } records)
        {
            var batches = WholeBatchesFrom(records, state.FetchOffset);
            if (batches.Length > 0)
            {
                // The response buffer is ours until the lease is disposed; the append only reads it.
                log.AppendAsFollower(MemoryMarshal.AsMemory(batches), nowMs);
                state.FetchOffset = log.LogEndOffset;
                outcome = FollowerFetchOutcome.Appended;
            }
        }

        // The follower's high watermark is the leader's, capped at what it holds (the setter caps and never goes back).
        if (data.HighWatermark >= 0)
        {
            var before = log.HighWatermark;
            log.HighWatermark = Math.Min(data.HighWatermark, log.LogEndOffset);
            if (log.HighWatermark != before)
            {
                state.Partition.OnFollowerHighWatermarkMoved();
            }
        }

        MaybeFollowLogStart(log, data.LogStartOffset);
        if (data.HighWatermark >= 0)
        {
            state.Lag = Math.Max(0, data.HighWatermark - state.FetchOffset);
        }

        return outcome;
    }

    /// <summary>
    /// Kafka's handleOutOfRangeError: a follower whose log end is below the leader's log start drops its whole log and
    /// restarts it at the leader's start (truncateFullyAndStartAt), so its log start, end and high watermark are the
    /// leader's start and its next fetch asks for exactly that; a follower ahead of the leader (possible only after an
    /// unclean election) cuts back to what the leader has committed.
    /// </summary>
    private static FollowerFetchOutcome HandleOutOfRange(FollowerFetchState state, PartitionLog log, FetchResponse.PartitionData data)
    {
        var leaderStart = data.LogStartOffset;
        if (leaderStart > state.FetchOffset)
        {
            log.TruncateFullyAndStartAt(leaderStart);
            state.FetchOffset = log.LogEndOffset;
            return FollowerFetchOutcome.Truncated;
        }

        var target = Math.Max(log.LogStartOffset, Math.Min(data.HighWatermark, log.LogEndOffset));
        if (data.HighWatermark >= 0)
        {
            log.TruncateTo(target);
        }

        state.FetchOffset = log.LogEndOffset;
        return FollowerFetchOutcome.Truncated;
    }

    private static void MaybeFollowLogStart(PartitionLog log, long leaderLogStart)
    {
        // Never beyond the local high watermark: the log start must stay at or below it.
        var target = Math.Min(leaderLogStart, log.HighWatermark);
        if (target > log.LogStartOffset)
        {
            log.IncrementLogStartOffset(target);
        }
    }

    /// <summary>
    /// The complete batches of a fetch response that reach <paramref name="fetchOffset"/> or beyond: a leader may send a
    /// partial last batch when it hit the byte limit, and batches wholly below the fetch offset were already appended.
    /// </summary>
    internal static ReadOnlyMemory<byte> WholeBatchesFrom(ReadOnlyMemory<byte> records, long fetchOffset)
    {
        var span = records.Span;
        var start = 0;
        var position = 0;
        while (span.Length - position >= RecordBatchHeader.Size)
        {
            var batch = span[position..];
            var size = RecordBatchHeader.TotalSize(batch);
            if (size < RecordBatchHeader.Size || size > batch.Length)
            {
                break;
            }

            if (RecordBatchHeader.LastOffset(batch) < fetchOffset && position == start)
            {
                start = position + size;
            }

            position += size;
        }

        return records[start..position];
    }
}
