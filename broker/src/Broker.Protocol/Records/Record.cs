using System.Text;

namespace Broker.Protocol.Records;

/// <summary>
/// One record of a batch, with absolute offset and effective timestamp resolved. Key, value and headers are
/// slices of the fetched bytes (or of the reader's decompression buffer for compressed batches, valid until the
/// reader moves on). Immutable view; thread-safe while the memory is unchanged.
/// </summary>
public readonly struct Record
{
    internal Record(
        long offset,
        int offsetDelta,
        long timestamp,
        TimestampType timestampType,
        ReadOnlyMemory<byte> key,
        bool hasKey,
        ReadOnlyMemory<byte> value,
        bool hasValue,
        int headerCount,
        ReadOnlyMemory<byte> headers)
    {
        Offset = offset;
        OffsetDelta = offsetDelta;
        Timestamp = timestamp;
        TimestampType = timestampType;
        Key = key;
        HasKey = hasKey;
        Value = value;
        HasValue = hasValue;
        HeaderCount = headerCount;
        HeaderBytes = headers;
    }

    public long Offset { get; }

    public int OffsetDelta { get; }

    /// <summary>
    /// baseTimestamp + timestampDelta for CreateTime; for LogAppendTime the batch maxTimestamp, whatever the
    /// record itself carries.
    /// </summary>
    public long Timestamp { get; }

    public TimestampType TimestampType { get; }

    /// <summary>Key bytes; empty when <see cref="HasKey"/> is false.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    public bool HasKey { get; }

    /// <summary>Value bytes; empty when <see cref="HasValue"/> is false (a tombstone).</summary>
    public ReadOnlyMemory<byte> Value { get; }

    public bool HasValue { get; }

    public int HeaderCount { get; }

    /// <summary>The encoded headers (after the count), already validated by the reader.</summary>
    public ReadOnlyMemory<byte> HeaderBytes { get; }

    public RecordHeaderEnumerator Headers => new(HeaderBytes, HeaderCount);

    /// <summary>Key as a new array, or null: a convenience for tests and tools.</summary>
    public byte[]? KeyToArray() => HasKey ? Key.ToArray() : null;

    /// <summary>Value as a new array, or null: a convenience for tests and tools.</summary>
    public byte[]? ValueToArray() => HasValue ? Value.ToArray() : null;
}

/// <summary>One record header: a UTF-8 key (never null) and a nullable value. Immutable view.</summary>
public readonly struct RecordHeader
{
    internal RecordHeader(ReadOnlyMemory<byte> keyUtf8, ReadOnlyMemory<byte> value, bool hasValue)
    {
        KeyUtf8 = keyUtf8;
        Value = value;
        HasValue = hasValue;
    }

    public ReadOnlyMemory<byte> KeyUtf8 { get; }

    /// <summary>The key decoded from UTF-8 (allocates).</summary>
    public string Key => Encoding.UTF8.GetString(KeyUtf8.Span);

    public ReadOnlyMemory<byte> Value { get; }

    public bool HasValue { get; }

    public byte[]? ValueToArray() => HasValue ? Value.ToArray() : null;
}

/// <summary>Enumerates the headers of a <see cref="Record"/> without allocating. Not thread-safe.</summary>
public struct RecordHeaderEnumerator
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly int _count;
    private int _index;
    private int _position;

    internal RecordHeaderEnumerator(ReadOnlyMemory<byte> bytes, int count)
    {
        _bytes = bytes;
        _count = count;
        _index = 0;
        _position = 0;
        Current = default;
    }

    public RecordHeader Current { get; private set; }

    public readonly RecordHeaderEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_index >= _count)
        {
            return false;
        }

        var span = _bytes.Span;
        var pos = _position;
        if (!RecordParser.TryReadBytes(span, ref pos, out var keyStart, out var keyLength) || keyLength < 0
            || !RecordParser.TryReadBytes(span, ref pos, out var valueStart, out var valueLength))
        {
            throw new KafkaProtocolException("Record header is malformed.");
        }

        Current = new RecordHeader(
            _bytes.Slice(keyStart, keyLength),
            valueLength < 0 ? ReadOnlyMemory<byte>.Empty : _bytes.Slice(valueStart, valueLength),
            valueLength >= 0);
        _position = pos;
        _index++;
        return true;
    }
}
