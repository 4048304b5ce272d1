using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Broker.Protocol.Records;

/// <summary>
/// Builds one RecordBatch v2: records are encoded as they are appended (offset deltas 0, 1, 2 ..., timestamps
/// relative to the first record), then <see cref="WriteTo"/> compresses them, fills the 61-byte header and stamps
/// the CRC. Used by tests, benchmarks, the broker's own control/recompressed batches and the CLI tools.
/// Reusable via <see cref="Reset"/>; dispose to return pooled buffers. Not thread-safe.
/// </summary>
public sealed class RecordBatchBuilder : IDisposable
{
    private readonly KafkaWriter _records;
    private KafkaWriter? _compressed;
    private long _baseTimestamp;
    private long _maxTimestamp;

    public RecordBatchBuilder(CompressionType compression = CompressionType.None, TimestampType timestampType = TimestampType.CreateTime)
    {
        _records = new KafkaWriter();
        Compression = compression;
        TimestampType = timestampType;
    }

    public CompressionType Compression { get; set; }

    /// <summary>Codec level, as in <see cref="RecordCompression.Compress"/>; null for the codec's default.</summary>
    public int? CompressionLevel { get; set; }

    public TimestampType TimestampType { get; set; }

    /// <summary>
    /// For <see cref="TimestampType.LogAppendTime"/>: the broker time written as maxTimestamp. When negative the
    /// largest record timestamp is used, as for CreateTime.
    /// </summary>
    public long LogAppendTime { get; set; } = -1;

    public long BaseOffset { get; set; }

    public int PartitionLeaderEpoch { get; set; } = -1;

    public long ProducerId { get; set; } = -1;

    public short ProducerEpoch { get; set; } = -1;

    public int BaseSequence { get; set; } = -1;

    public bool IsTransactional { get; set; }

    public bool IsControl { get; set; }

    /// <summary>Records appended so far.</summary>
    public int Count { get; private set; }

    /// <summary>Largest record timestamp appended so far (-1 when empty).</summary>
    public long MaxTimestamp => Count == 0 ? -1 : _maxTimestamp;

    /// <summary>Appends a record; null key or value are encoded as length -1 (a null value is a tombstone).</summary>
    public RecordBatchBuilder Append(long timestamp, byte[]? key, byte[]? value, ReadOnlySpan<(string Key, byte[]? Value)> headers = default)
    {
        if (Count == 0)
        {
            _baseTimestamp = timestamp;
            _maxTimestamp = timestamp;
        }

        var timestampDelta = timestamp - _baseTimestamp;
        var offsetDelta = Count;
        var bodySize = 1L + VarInt.SizeOfSignedLong(timestampDelta) + VarInt.SizeOfSigned(offsetDelta)
            + SizeOfBytes(key?.Length ?? -1) + SizeOfBytes(value?.Length ?? -1) + VarInt.SizeOfSigned(headers.Length);
        foreach (var (headerKey, headerValue) in headers)
        {
            ArgumentNullException.ThrowIfNull(headerKey, nameof(headers));
            bodySize += SizeOfBytes(Encoding.UTF8.GetByteCount(headerKey)) + SizeOfBytes(headerValue?.Length ?? -1);
        }

        if (bodySize > int.MaxValue - 5)
        {
            throw new ArgumentException("Record is too large to encode.", nameof(value));
        }

        _records.WriteVarInt((int)bodySize);
        _records.WriteInt8(0); // attributes: unused
        _records.WriteVarLong(timestampDelta);
        _records.WriteVarInt(offsetDelta);
        WriteBytes(key);
        WriteBytes(value);
        _records.WriteVarInt(headers.Length);
        foreach (var (headerKey, headerValue) in headers)
        {
            var length = Encoding.UTF8.GetByteCount(headerKey);
            _records.WriteVarInt(length);
            Encoding.UTF8.GetBytes(headerKey, _records.GetSpan(length));
            _records.Advance(length);
            WriteBytes(headerValue);
        }

        _maxTimestamp = Math.Max(_maxTimestamp, timestamp);
        Count++;
        return this;
    }

    /// <summary>Size of the batch <see cref="WriteTo"/> would produce if uncompressed.</summary>
    public int UncompressedSize => RecordBatchHeader.Size + _records.Position;

    /// <summary>Writes the finished batch; the builder keeps its records, so this can be called again.</summary>
    /// <returns>Bytes written.</returns>
    public int WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (Count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        var records = _records.WrittenSpan;
        if (Compression != CompressionType.None)
        {
            _compressed ??= new KafkaWriter(Math.Max(records.Length / 2, 256));
            _compressed.Reset();
            RecordCompression.Compress(Compression, records, _compressed, CompressionLevel);
            records = _compressed.WrittenSpan;
        }

        var size = RecordBatchHeader.Size + records.Length;
        var batch = output.GetSpan(size)[..size];
        records.CopyTo(batch[RecordBatchHeader.Size..]);
        WriteHeader(batch, records.Length);
        output.Advance(size);
        return size;
    }

    /// <summary>The finished batch as a new array (convenience for tests and tools).</summary>
    public byte[] ToArray()
    {
        using var writer = new KafkaWriter(UncompressedSize);
        WriteTo(writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Drops the appended records; header settings are kept.</summary>
    public void Reset()
    {
        _records.Reset();
        Count = 0;
    }

    public void Dispose()
    {
        _records.Dispose();
        _compressed?.Dispose();
    }

    private void WriteHeader(Span<byte> batch, int recordsLength)
    {
        var attributes = (int)Compression;
        var logAppendTime = TimestampType == TimestampType.LogAppendTime;
        if (logAppendTime)
        {
            attributes |= RecordBatchHeader.TimestampTypeMask;
        }

        if (IsTransactional)
        {
            attributes |= RecordBatchHeader.TransactionalMask;
        }

        if (IsControl)
        {
            attributes |= RecordBatchHeader.ControlMask;
        }

        BinaryPrimitives.WriteInt64BigEndian(batch, BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatchHeader.LengthOffset..], RecordBatchHeader.Size - RecordBatchHeader.LogOverhead + recordsLength);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatchHeader.PartitionLeaderEpochOffset..], PartitionLeaderEpoch);
        batch[RecordBatchHeader.MagicOffset] = RecordBatchHeader.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatchHeader.AttributesOffset..], (short)attributes);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatchHeader.LastOffsetDeltaOffset..], Count - 1);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatchHeader.BaseTimestampOffset..], _baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(
            batch[RecordBatchHeader.MaxTimestampOffset..],
            logAppendTime && LogAppendTime >= 0 ? LogAppendTime : _maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch[RecordBatchHeader.ProducerIdOffset..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatchHeader.ProducerEpochOffset..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatchHeader.BaseSequenceOffset..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(batch[RecordBatchHeader.RecordsCountOffset..], Count);
        RecordBatchHeader.UpdateCrc(batch);
    }

    private static long SizeOfBytes(int length) => VarInt.SizeOfSigned(length) + (long)Math.Max(length, 0);

    private void WriteBytes(byte[]? bytes)
    {
        if (bytes is null)
        {
            _records.WriteVarInt(-1);
            return;
        }

        _records.WriteVarInt(bytes.Length);
        _records.WriteRaw(bytes);
    }
}
