using System.Buffers.Binary;

namespace Broker.Protocol.Records;

/// <summary>
/// Checks the records of one partition in a ProduceRequest (v3+) before the leader appends them: exactly one
/// magic-2 batch, its framing, size, CRC and codec, the client-origin header rules, and every record inside.
/// Never throws for bad input and allocates nothing for uncompressed batches; compressed batches are decompressed
/// into a pooled buffer. Error mapping and check order are in docs/log-format.md. Stateless; thread-safe.
/// </summary>
public static class RecordBatchValidator
{
    /// <summary>Validates with the given max.message.bytes and default decompression cap, keys optional.</summary>
    public static RecordBatchValidationResult Validate(ReadOnlySpan<byte> records, int maxMessageBytes) =>
        Validate(records, new RecordBatchLimits(maxMessageBytes));

    public static RecordBatchValidationResult Validate(ReadOnlySpan<byte> records, in RecordBatchLimits limits)
    {
        if (records.IsEmpty)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.InvalidRecord, Messages.NoBatch);
        }

        if (records.Length <= RecordBatchHeader.MagicOffset)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.CorruptMessage, Messages.TruncatedHeader);
        }

        if (RecordBatchHeader.Magic(records) != RecordBatchHeader.CurrentMagic)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.InvalidRecord, Messages.BadMagic, 1);
        }

        if (records.Length < RecordBatchHeader.Size)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.CorruptMessage, Messages.TruncatedHeader, 1);
        }

        long batchSize = (long)RecordBatchHeader.BatchLength(records) + RecordBatchHeader.LogOverhead;
        if (batchSize < RecordBatchHeader.Size)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.CorruptMessage, Messages.BadBatchLength, 1);
        }

        if (batchSize > records.Length)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.CorruptMessage, Messages.TruncatedBatch, 1);
        }

        if (batchSize < records.Length)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.InvalidRecord, Messages.MoreThanOneBatch, 2);
        }

        var batch = records;
        if (RecordBatchHeader.BaseOffset(batch) != 0)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.InvalidRecord, Messages.NonZeroBaseOffset, 1);
        }

        if (batch.Length > limits.MaxMessageBytes)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.MessageTooLarge, Messages.TooLarge, 1);
        }

        if (RecordBatchHeader.Crc(batch) != RecordBatchHeader.ComputeCrc(batch))
        {
            return RecordBatchValidationResult.Failed(ErrorCode.CorruptMessage, Messages.CrcMismatch, 1);
        }

        var compression = RecordBatchHeader.Compression(batch);
        if (!RecordCompression.IsSupported(compression))
        {
            return RecordBatchValidationResult.Failed(ErrorCode.UnsupportedCompressionType, Messages.UnknownCodec, 1);
        }

        var count = RecordBatchHeader.RecordsCount(batch);
        var headerError = CheckClientHeader(batch, count);
        if (headerError is not null)
        {
            return RecordBatchValidationResult.Failed(ErrorCode.InvalidRecord, headerError, 1);
        }

        var body = batch[RecordBatchHeader.Size..];
        WalkResult walk;
        int uncompressedSize;
        if (compression == CompressionType.None)
        {
            walk = Walk(body, count, RecordBatchHeader.BaseTimestamp(batch), limits.RequireKeys);
            uncompressedSize = body.Length;
        }
        else
        {
            var initial = (int)Math.Min(limits.MaxUncompressedBytes, Math.Max(4096L, body.Length * 4L));
            using var buffer = new KafkaWriter(initial);
            var status = RecordCompression.TryDecompress(compression, body, buffer, limits.MaxUncompressedBytes, out uncompressedSize);
            switch (status)
            {
                case DecompressionStatus.Ok:
                    break;
                case DecompressionStatus.OutputLimitExceeded:
                    return RecordBatchValidationResult.Failed(ErrorCode.MessageTooLarge, Messages.DecompressedTooLarge, 1);
                default:
                    return RecordBatchValidationResult.Failed(ErrorCode.CorruptMessage, Messages.BadCompressedData, 1);
            }

            walk = Walk(buffer.WrittenSpan, count, RecordBatchHeader.BaseTimestamp(batch), limits.RequireKeys);
        }

        if (walk.Error is not null)
        {
            return RecordBatchValidationResult.Failed(walk.ErrorCode, walk.Error, 1);
        }

        var logAppendTime = RecordBatchHeader.IsLogAppendTime(batch);
        return new RecordBatchValidationResult
        {
            BatchCount = 1,
            RecordCount = walk.Count,
            BatchSize = batch.Length,
            UncompressedRecordsSize = uncompressedSize,
            Compression = compression,
            TimestampType = logAppendTime ? TimestampType.LogAppendTime : TimestampType.CreateTime,
            MaxTimestamp = logAppendTime ? RecordBatchHeader.MaxTimestamp(batch) : walk.MaxTimestamp,
            MinTimestamp = walk.MinTimestamp,
            FirstOffsetDelta = walk.FirstOffsetDelta,
            LastOffsetDelta = walk.LastOffsetDelta,
        };
    }

    /// <summary>Header rules for batches that come from clients rather than replication.</summary>
    private static string? CheckClientHeader(ReadOnlySpan<byte> batch, int count)
    {
        if (count <= 0)
        {
            return Messages.BadRecordsCount;
        }

        if (RecordBatchHeader.LastOffsetDelta(batch) != count - 1)
        {
            return Messages.OffsetRangeMismatch;
        }

        if (RecordBatchHeader.IsControl(batch))
        {
            return Messages.ControlFromClient;
        }

        if (RecordBatchHeader.ProducerId(batch) >= 0 && RecordBatchHeader.BaseSequence(batch) < 0)
        {
            return Messages.BadSequence;
        }

        return null;
    }

    private ref struct WalkResult
    {
        public string? Error;
        public ErrorCode ErrorCode;
        public int Count;
        public long MaxTimestamp;
        public long MinTimestamp;
        public int FirstOffsetDelta;
        public int LastOffsetDelta;
    }

    /// <summary>Walks the (uncompressed) records section: framing, bounds, offset deltas 0..n-1, count.</summary>
    private static WalkResult Walk(ReadOnlySpan<byte> records, int expectedCount, long baseTimestamp, bool requireKeys)
    {
        var result = new WalkResult { ErrorCode = ErrorCode.CorruptMessage, MaxTimestamp = -1, MinTimestamp = long.MaxValue, FirstOffsetDelta = -1, LastOffsetDelta = -1 };
        var pos = 0;
        while (pos < records.Length)
        {
            if (result.Count == expectedCount)
            {
                result.Error = Messages.TrailingBytes;
                return result;
            }

            var error = RecordParser.TryParse(records[pos..], out var layout);
            if (error is not null)
            {
                result.Error = error;
                return result;
            }

            if (layout.OffsetDelta != result.Count)
            {
                result.Error = Messages.OffsetDeltaOutOfSequence;
                return result;
            }

            if (requireKeys && layout.KeyLength < 0)
            {
                result.Error = Messages.NullKey;
                result.ErrorCode = ErrorCode.InvalidRecord;
                return result;
            }

            var timestamp = baseTimestamp + layout.TimestampDelta;
            result.MaxTimestamp = Math.Max(result.MaxTimestamp, timestamp);
            if (timestamp >= 0)
            {
                result.MinTimestamp = Math.Min(result.MinTimestamp, timestamp);
            }

            if (result.Count == 0)
            {
                result.FirstOffsetDelta = layout.OffsetDelta;
            }

            result.LastOffsetDelta = layout.OffsetDelta;
            result.Count++;
            pos += layout.TotalSize;
        }

        if (result.Count != expectedCount)
        {
            result.Error = Messages.CountMismatch;
        }

        return result;
    }

    /// <summary>Error texts; constants so that failures allocate nothing either.</summary>
    internal static class Messages
    {
        public const string NoBatch = "Produce requests (v3+) must carry exactly one record batch per partition; none was found.";
        public const string MoreThanOneBatch = "Produce requests (v3+) must carry exactly one record batch per partition; found more data after the first batch.";
        public const string BadMagic = "Only record batches with magic 2 are accepted.";
        public const string TruncatedHeader = "Record batch is shorter than its 61-byte header.";
        public const string BadBatchLength = "Record batch length is smaller than the batch header.";
        public const string TruncatedBatch = "Record batch length exceeds the bytes sent.";
        public const string NonZeroBaseOffset = "Base offset of a produced record batch must be 0.";
        public const string TooLarge = "Record batch is larger than the topic's max.message.bytes.";
        public const string DecompressedTooLarge = "Record batch decompresses to more than the broker's limit.";
        public const string CrcMismatch = "Record batch CRC-32C does not match its contents.";
        public const string UnknownCodec = "Record batch uses an unknown compression codec (5-7).";
        public const string BadCompressedData = "Record batch compressed data is corrupt.";
        public const string BadRecordsCount = "Record batch must contain at least one record.";
        public const string OffsetRangeMismatch = "Record batch lastOffsetDelta does not match its record count.";
        public const string ControlFromClient = "Clients may not write control batches.";
        public const string BadSequence = "Idempotent record batch has a negative base sequence.";
        public const string TrailingBytes = "Record batch has bytes after its last record.";
        public const string CountMismatch = "Record batch holds a different number of records than its header declares.";
        public const string OffsetDeltaOutOfSequence = "Record offset deltas must run 0, 1, 2 ... within a produced batch.";
        public const string NullKey = "Compacted topics do not accept records without a key.";
    }
}
