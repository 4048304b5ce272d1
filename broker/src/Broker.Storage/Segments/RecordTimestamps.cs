using Broker.Protocol;
using Broker.Protocol.Records;

namespace Broker.Storage.Segments;

/// <summary>
/// Record-level timestamp search inside one batch, for ListOffsets. Stateless; thread-safe.
/// </summary>
/// <remarks>
/// Uncompressed CreateTime batches are walked record by record (length, attributes, timestampDelta, offsetDelta).
/// LogAppendTime batches give every record the batch's maxTimestamp, so the first record qualifies. Compressed
/// batches are inflated into a pooled buffer and walked the same way, so the answer is exact as in Kafka
/// (ListOffsets is not a hot path).
/// </remarks>
internal static class RecordTimestamps
{
    /// <summary>
    /// The first record of <paramref name="batch"/> with timestamp &gt;= <paramref name="targetTimestamp"/> and offset
    /// &gt;= <paramref name="minOffset"/>. False if no record qualifies.
    /// </summary>
    public static bool TryFindFirst(ReadOnlySpan<byte> batch, long targetTimestamp, long minOffset, out long offset, out long timestamp)
    {
        var baseOffset = RecordBatchHeader.BaseOffset(batch);
        var maxTimestamp = RecordBatchHeader.MaxTimestamp(batch);
        offset = -1;
        timestamp = -1;
        if (maxTimestamp < targetTimestamp || RecordBatchHeader.LastOffset(batch) < minOffset)
        {
            return false;
        }

        if (RecordBatchHeader.IsLogAppendTime(batch))
        {
            offset = Math.Max(baseOffset, minOffset);
            timestamp = maxTimestamp;
            return true;
        }

        var compression = RecordBatchHeader.Compression(batch);
        if (compression == CompressionType.None)
        {
            return TryFindInRecords(batch, batch[RecordBatchHeader.Size..], targetTimestamp, minOffset, out offset, out timestamp);
        }

        using var inflated = new KafkaWriter(Math.Max(4096, batch.Length * 4));
        if (RecordCompression.TryDecompress(compression, batch[RecordBatchHeader.Size..], inflated, RecordCompression.DefaultMaxDecompressedBytes, out _)
            != DecompressionStatus.Ok)
        {
            // Unreadable compressed data (the log only holds validated batches, so this is defensive): batch precision.
            offset = Math.Max(baseOffset, minOffset);
            timestamp = maxTimestamp;
            return true;
        }

        return TryFindInRecords(batch, inflated.WrittenSpan, targetTimestamp, minOffset, out offset, out timestamp);
    }

    private static bool TryFindInRecords(ReadOnlySpan<byte> batch, ReadOnlySpan<byte> records, long targetTimestamp, long minOffset, out long offset, out long timestamp)
    {
        var baseOffset = RecordBatchHeader.BaseOffset(batch);
        var maxTimestamp = RecordBatchHeader.MaxTimestamp(batch);
        var baseTimestamp = RecordBatchHeader.BaseTimestamp(batch);
        var count = RecordBatchHeader.RecordsCount(batch);
        offset = -1;
        timestamp = -1;
        var parsed = true;
        for (var i = 0; i < count; i++)
        {
            if (!VarInt.TryReadSigned(records, out var length, out var n) || length < 0 || n + length > records.Length)
            {
                parsed = false;
                break;
            }

            var body = records.Slice(n, length);
            records = records[(n + length)..];

            // body: attributes int8, timestampDelta varlong, offsetDelta varint, ...
            if (body.Length < 1
                || !VarInt.TryReadSignedLong(body[1..], out var timestampDelta, out var m)
                || !VarInt.TryReadSigned(body[(1 + m)..], out var offsetDelta, out _))
            {
                parsed = false;
                break;
            }

            var recordTimestamp = baseTimestamp + timestampDelta;
            var recordOffset = baseOffset + offsetDelta;
            if (recordTimestamp >= targetTimestamp && recordOffset >= minOffset)
            {
                offset = recordOffset;
                timestamp = recordTimestamp;
                return true;
            }
        }

        if (parsed)
        {
            // Every record is older than the target or below minOffset; the caller moves on to the next batch.
            return false;
        }

        // The records did not parse (the log only holds validated batches, so this is defensive): batch precision.
        offset = Math.Max(baseOffset, minOffset);
        timestamp = maxTimestamp;
        return true;
    }
}
