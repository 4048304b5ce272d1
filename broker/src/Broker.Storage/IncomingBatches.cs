using Broker.Protocol.Records;

namespace Broker.Storage;

/// <summary>Counts of one append's batches, from a single pass over their headers.</summary>
internal readonly record struct BatchSummary(int BatchCount, long OffsetCount, long MaxTimestamp, bool HasProducerIds);

/// <summary>
/// Header-only work on the bytes handed to <see cref="PartitionLog.Append"/>: a framing check with counts, and
/// offset assignment in place. Allocation-free. Stateless; thread-safe (callers own the buffer).
/// </summary>
internal static class IncomingBatches
{
    /// <summary>
    /// Checks that the bytes are whole v2 batches back to back (the protocol layer validated their content; this
    /// guards the log's framing) and sums their offsets and maximum timestamp.
    /// </summary>
    public static BatchSummary Summarize(ReadOnlySpan<byte> batches)
    {
        if (batches.IsEmpty)
        {
            ThrowHelper.ThrowInvalidBatches("no batches");
        }

        var count = 0;
        long offsets = 0;
        long maxTimestamp = -1;
        var hasProducerIds = false;
        var position = 0;
        while (position < batches.Length)
        {
            var batch = batches[position..];
            if (batch.Length < RecordBatchHeader.Size)
            {
                ThrowHelper.ThrowInvalidBatches("trailing bytes shorter than a batch header");
            }

            var length = RecordBatchHeader.BatchLength(batch);
            if (length < RecordBatchHeader.Size - RecordBatchHeader.LogOverhead || length > batch.Length - RecordBatchHeader.LogOverhead)
            {
                ThrowHelper.ThrowInvalidBatches("batch length outside the buffer");
            }

            if (RecordBatchHeader.Magic(batch) != RecordBatchHeader.CurrentMagic)
            {
                ThrowHelper.ThrowInvalidBatches("magic is not 2");
            }

            var delta = RecordBatchHeader.LastOffsetDelta(batch);
            if (delta < 0)
            {
                ThrowHelper.ThrowInvalidBatches("negative lastOffsetDelta");
            }

            offsets += delta + 1L;
            maxTimestamp = Math.Max(maxTimestamp, RecordBatchHeader.MaxTimestamp(batch));
            hasProducerIds |= RecordBatchHeader.ProducerId(batch) >= 0;
            count++;
            position += length + RecordBatchHeader.LogOverhead;
        }

        return new BatchSummary(count, offsets, maxTimestamp, hasProducerIds);
    }

    /// <summary>
    /// Rewrites each batch's baseOffset and partitionLeaderEpoch (outside the CRC) consecutively from
    /// <paramref name="firstOffset"/>; for LogAppendTime also the timestamp type and maxTimestamp, with a new CRC.
    /// </summary>
    public static void AssignOffsets(Span<byte> batches, long firstOffset, int leaderEpoch, bool logAppendTime, long nowMs)
    {
        var next = firstOffset;
        var position = 0;
        while (position < batches.Length)
        {
            var total = RecordBatchHeader.TotalSize(batches[position..]);
            var batch = batches.Slice(position, total);
            RecordBatchHeader.SetBaseOffset(batch, next);
            RecordBatchHeader.SetPartitionLeaderEpoch(batch, leaderEpoch);
            if (logAppendTime)
            {
                RecordBatchHeader.SetLogAppendTime(batch, nowMs);
            }

            next += RecordBatchHeader.LastOffsetDelta(batch) + 1L;
            position += total;
        }
    }
}
