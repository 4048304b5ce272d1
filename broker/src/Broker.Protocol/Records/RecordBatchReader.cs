namespace Broker.Protocol.Records;

/// <summary>
/// Iterates the batches of a buffer such as a fetch response's records, and the records of each batch,
/// decompressing into a pooled buffer when needed. A trailing incomplete batch (fetch responses may end with one)
/// ends iteration and is reported by <see cref="HasIncompleteBatch"/>. Malformed data throws
/// <see cref="KafkaProtocolException"/> or <see cref="DecompressionException"/>. For tests and tools; the
/// broker's hot paths use <see cref="RecordBatchValidator"/> and <see cref="RecordBatchHeader"/>. Not thread-safe.
/// </summary>
public sealed class RecordBatchReader : IDisposable
{
    private readonly ReadOnlyMemory<byte> _buffer;
    private readonly int _maxDecompressedBytes;
    private KafkaWriter? _decompressed;

    public RecordBatchReader(ReadOnlyMemory<byte> buffer, int maxDecompressedBytes = RecordCompression.DefaultMaxDecompressedBytes)
    {
        _buffer = buffer;
        _maxDecompressedBytes = maxDecompressedBytes;
    }

    /// <summary>Offset in the buffer of the next unread batch.</summary>
    public int Position { get; private set; }

    /// <summary>True when bytes remain after the last complete batch.</summary>
    public bool HasIncompleteBatch => Position < _buffer.Length && !HasCompleteBatchAt(Position);

    /// <summary>Moves to the next complete batch; false at the end of the buffer or before an incomplete batch.</summary>
    public bool TryReadBatch(out RecordBatch batch)
    {
        batch = default;
        if (!HasCompleteBatchAt(Position))
        {
            return false;
        }

        var span = _buffer.Span[Position..];
        if (RecordBatchHeader.Magic(span) != RecordBatchHeader.CurrentMagic)
        {
            throw new KafkaProtocolException($"Unsupported record batch magic {RecordBatchHeader.Magic(span)} at position {Position}.");
        }

        var size = RecordBatchHeader.TotalSize(span);
        batch = new RecordBatch(_buffer.Slice(Position, size));
        Position += size;
        return true;
    }

    /// <summary>
    /// Records of <paramref name="batch"/>. For a compressed batch the records live in this reader's buffer and stay
    /// valid until the next call to this method or <see cref="Dispose"/>.
    /// </summary>
    public RecordEnumerator ReadRecords(in RecordBatch batch)
    {
        var records = batch.RecordsSection;
        if (batch.Compression != CompressionType.None)
        {
            _decompressed ??= new KafkaWriter(Math.Max(4096, records.Length * 4));
            _decompressed.Reset();
            RecordCompression.Decompress(batch.Compression, records.Span, _decompressed, _maxDecompressedBytes);
            records = _decompressed.WrittenMemory;
        }

        return new RecordEnumerator(batch, records);
    }

    /// <summary>Reads every record of every complete batch into a list (copies; for tests and tools).</summary>
    public static List<(RecordBatch Batch, Record Record)> ReadAll(ReadOnlyMemory<byte> buffer)
    {
        var result = new List<(RecordBatch, Record)>();
        using var reader = new RecordBatchReader(buffer);
        while (reader.TryReadBatch(out var batch))
        {
            foreach (var record in reader.ReadRecords(batch))
            {
                result.Add((batch, Detach(record)));
            }
        }

        return result;
    }

    public void Dispose() => _decompressed?.Dispose();

    private bool HasCompleteBatchAt(int position)
    {
        var span = _buffer.Span[position..];
        if (span.Length < RecordBatchHeader.LogOverhead)
        {
            return false;
        }

        var length = RecordBatchHeader.BatchLength(span);
        if (length < RecordBatchHeader.Size - RecordBatchHeader.LogOverhead)
        {
            throw new KafkaProtocolException($"Record batch length {length} at position {position} is smaller than a batch header.");
        }

        return length <= span.Length - RecordBatchHeader.LogOverhead;
    }

    /// <summary>Copies a record's slices so it outlives the reader's decompression buffer.</summary>
    private static Record Detach(Record r) => new(
        r.Offset,
        r.OffsetDelta,
        r.Timestamp,
        r.TimestampType,
        r.Key.ToArray(),
        r.HasKey,
        r.Value.ToArray(),
        r.HasValue,
        r.HeaderCount,
        r.HeaderBytes.ToArray());
}

/// <summary>Enumerates the records of one batch without allocating. Not thread-safe.</summary>
public struct RecordEnumerator
{
    private readonly ReadOnlyMemory<byte> _records;
    private readonly long _baseOffset;
    private readonly long _baseTimestamp;
    private readonly long _maxTimestamp;
    private readonly TimestampType _timestampType;
    private readonly int _expectedCount;
    private int _position;
    private int _count;

    internal RecordEnumerator(in RecordBatch batch, ReadOnlyMemory<byte> records)
    {
        _records = records;
        _baseOffset = batch.BaseOffset;
        _baseTimestamp = batch.BaseTimestamp;
        _maxTimestamp = batch.MaxTimestamp;
        _timestampType = batch.TimestampType;
        _expectedCount = batch.RecordsCount;
        _position = 0;
        _count = 0;
        Current = default;
    }

    public Record Current { get; private set; }

    public readonly RecordEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_position >= _records.Length)
        {
            if (_count != _expectedCount)
            {
                throw new KafkaProtocolException($"Record batch declares {_expectedCount} records but holds {_count}.");
            }

            return false;
        }

        var error = RecordParser.TryParse(_records.Span[_position..], out var layout);
        if (error is not null)
        {
            throw new KafkaProtocolException($"Record {_count} of the batch at offset {_baseOffset}: {error}");
        }

        var record = _records.Slice(_position, layout.TotalSize);
        Current = new Record(
            _baseOffset + layout.OffsetDelta,
            layout.OffsetDelta,
            _timestampType == TimestampType.LogAppendTime ? _maxTimestamp : _baseTimestamp + layout.TimestampDelta,
            _timestampType,
            layout.KeyLength < 0 ? ReadOnlyMemory<byte>.Empty : record.Slice(layout.KeyStart, layout.KeyLength),
            layout.KeyLength >= 0,
            layout.ValueLength < 0 ? ReadOnlyMemory<byte>.Empty : record.Slice(layout.ValueStart, layout.ValueLength),
            layout.ValueLength >= 0,
            layout.HeaderCount,
            record.Slice(layout.HeadersStart, layout.HeadersLength));
        _position += layout.TotalSize;
        _count++;
        return true;
    }
}
