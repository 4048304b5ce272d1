namespace Broker.Protocol.Records;

/// <summary>Timestamp type in bit 3 of a batch's attributes.</summary>
public enum TimestampType : byte
{
    CreateTime = 0,

    /// <summary>The broker's append time, stored once as the batch maxTimestamp and applying to every record.</summary>
    LogAppendTime = 1,
}

/// <summary>
/// One complete RecordBatch v2 as handed out by <see cref="RecordBatchReader"/>: the batch bytes plus typed
/// accessors for the header. Records are read through <see cref="RecordBatchReader.ReadRecords"/>.
/// Immutable view; thread-safe as long as the underlying memory is not modified.
/// </summary>
public readonly struct RecordBatch
{
    public RecordBatch(ReadOnlyMemory<byte> memory)
    {
        if (memory.Length < RecordBatchHeader.Size || RecordBatchHeader.TotalSize(memory.Span) != memory.Length)
        {
            throw new KafkaProtocolException("Memory does not hold exactly one record batch.");
        }

        Memory = memory;
    }

    /// <summary>The whole batch, header included.</summary>
    public ReadOnlyMemory<byte> Memory { get; }

    public ReadOnlySpan<byte> Span => Memory.Span;

    public int SizeInBytes => Memory.Length;

    /// <summary>The records section: raw records, or one compressed blob.</summary>
    public ReadOnlyMemory<byte> RecordsSection => Memory[RecordBatchHeader.Size..];

    public long BaseOffset => RecordBatchHeader.BaseOffset(Span);

    public long LastOffset => RecordBatchHeader.LastOffset(Span);

    public long NextOffset => LastOffset + 1;

    public int LastOffsetDelta => RecordBatchHeader.LastOffsetDelta(Span);

    public int PartitionLeaderEpoch => RecordBatchHeader.PartitionLeaderEpoch(Span);

    public byte Magic => RecordBatchHeader.Magic(Span);

    public uint Crc => RecordBatchHeader.Crc(Span);

    public bool IsCrcValid => Crc == RecordBatchHeader.ComputeCrc(Span);

    public short Attributes => RecordBatchHeader.Attributes(Span);

    public CompressionType Compression => RecordBatchHeader.Compression(Span);

    public TimestampType TimestampType => RecordBatchHeader.IsLogAppendTime(Span) ? TimestampType.LogAppendTime : TimestampType.CreateTime;

    public bool IsTransactional => RecordBatchHeader.IsTransactional(Span);

    public bool IsControl => RecordBatchHeader.IsControl(Span);

    public long BaseTimestamp => RecordBatchHeader.BaseTimestamp(Span);

    public long MaxTimestamp => RecordBatchHeader.MaxTimestamp(Span);

    public long ProducerId => RecordBatchHeader.ProducerId(Span);

    public short ProducerEpoch => RecordBatchHeader.ProducerEpoch(Span);

    public int BaseSequence => RecordBatchHeader.BaseSequence(Span);

    public int RecordsCount => RecordBatchHeader.RecordsCount(Span);
}
