using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Broker.Protocol;

/// <summary>
/// Growable big-endian writer over a buffer rented from <see cref="ArrayPool{T}.Shared"/>, used to encode
/// whole responses (and requests in tests and tools). Reuse one instance with <see cref="Reset"/> and return
/// the buffer with <see cref="Dispose"/>. With <see cref="SpliceThreshold"/> set, large byte fields (fetched
/// records) are not copied: the writer remembers them as splices and <see cref="GetSegments"/> yields the
/// output as a gather list. Not thread-safe: owned by one connection loop or one caller.
/// </summary>
public sealed class KafkaWriter : IBufferWriter<byte>, IDisposable
{
    private readonly List<(int At, ReadOnlyMemory<byte> Data)> _splices = [];
    private byte[] _buffer;
    private int _position;
    private long _splicedBytes;

    public KafkaWriter(int initialCapacity = 4096)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 16));
    }

    /// <summary>Bytes written so far, spliced ones included.</summary>
    public int Position => (int)(_position + _splicedBytes);

    /// <summary>
    /// Byte fields at least this long are spliced instead of copied (0 = never). The spliced memory must stay
    /// valid until the output has been sent.
    /// </summary>
    public int SpliceThreshold { get; set; }

    public bool HasSplices => _splices.Count > 0;

    public ReadOnlySpan<byte> WrittenSpan => HasSplices ? throw SplicedOutput() : _buffer.AsSpan(0, _position);

    public ReadOnlyMemory<byte> WrittenMemory => HasSplices ? throw SplicedOutput() : _buffer.AsMemory(0, _position);

    public void Reset()
    {
        _position = 0;
        _splicedBytes = 0;
        _splices.Clear();
    }

    /// <summary>Appends the output, in order, as array segments for a gather send (spliced memory is array-backed).</summary>
    public void GetSegments(List<ArraySegment<byte>> segments)
    {
        var from = 0;
        foreach (var (at, data) in _splices)
        {
            if (at > from)
            {
                segments.Add(new ArraySegment<byte>(_buffer, from, at - from));
            }

            if (!System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var array))
            {
                throw new InvalidOperationException("Spliced memory must be array-backed.");
            }

            segments.Add(array);
            from = at;
        }

        if (_position > from)
        {
            segments.Add(new ArraySegment<byte>(_buffer, from, _position - from));
        }
    }

    private static InvalidOperationException SplicedOutput() =>
        new("The output holds spliced segments; read it with GetSegments.");

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _position = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Advance(int count) => _position += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_position);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(Math.Max(sizeHint, 1));
        return _buffer.AsSpan(_position);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Claim(int count)
    {
        if (_buffer.Length - _position < count)
        {
            Grow(count);
        }

        var span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }

    private void Ensure(int count)
    {
        if (_buffer.Length - _position < count)
        {
            Grow(count);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int count)
    {
        var needed = (long)_position + count;
        var size = Math.Max(needed, (long)_buffer.Length * 2);
        if (size > Array.MaxLength)
        {
            size = needed <= Array.MaxLength ? Array.MaxLength : throw new InvalidOperationException("Message too large.");
        }

        var next = ArrayPool<byte>.Shared.Rent((int)size);
        _buffer.AsSpan(0, _position).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }

    public void WriteInt8(sbyte value) => Claim(1)[0] = (byte)value;

    public void WriteBool(bool value) => Claim(1)[0] = value ? (byte)1 : (byte)0;

    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16BigEndian(Claim(2), value);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Claim(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32BigEndian(Claim(4), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Claim(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Claim(8), value);

    public void WriteFloat64(double value) => BinaryPrimitives.WriteDoubleBigEndian(Claim(8), value);

    public void WriteUuid(Guid value)
    {
        if (!value.TryWriteBytes(Claim(16), bigEndian: true, out _))
        {
            throw new InvalidOperationException("Guid did not fit in 16 bytes.");
        }
    }

    public void WriteUnsignedVarInt(uint value)
    {
        Ensure(5);
        _position += VarInt.WriteUnsigned(_buffer.AsSpan(_position), value);
    }

    public void WriteVarInt(int value)
    {
        Ensure(5);
        _position += VarInt.WriteSigned(_buffer.AsSpan(_position), value);
    }

    public void WriteVarLong(long value)
    {
        Ensure(10);
        _position += VarInt.WriteSignedLong(_buffer.AsSpan(_position), value);
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Claim(bytes.Length));

    /// <summary>Writes an int16-length string; null as -1.</summary>
    public void WriteNullableString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            throw new InvalidOperationException($"String of {length} bytes exceeds the int16 length limit.");
        }

        WriteInt16((short)length);
        Encoding.UTF8.GetBytes(value, Claim(length));
    }

    public void WriteString(string value) => WriteNullableString(value);

    /// <summary>Writes a compact (uvarint length+1) string; null as 0.</summary>
    public void WriteCompactNullableString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarInt(0);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        WriteUnsignedVarInt((uint)length + 1);
        Encoding.UTF8.GetBytes(value, Claim(length));
    }

    public void WriteCompactString(string value) => WriteCompactNullableString(value);

    public void WriteNullableBytes(ReadOnlyMemory<byte>? value)
    {
        if (value is not { } bytes)
        {
            WriteInt32(-1);
            return;
        }

        WriteInt32(bytes.Length);
        WriteOrSplice(bytes);
    }

    public void WriteBytes(ReadOnlyMemory<byte> value) => WriteNullableBytes(value);

    public void WriteCompactNullableBytes(ReadOnlyMemory<byte>? value)
    {
        if (value is not { } bytes)
        {
            WriteUnsignedVarInt(0);
            return;
        }

        WriteUnsignedVarInt((uint)bytes.Length + 1);
        WriteOrSplice(bytes);
    }

    private void WriteOrSplice(ReadOnlyMemory<byte> bytes)
    {
        if (SpliceThreshold > 0 && bytes.Length >= SpliceThreshold)
        {
            _splices.Add((_position, bytes));
            _splicedBytes += bytes.Length;
            return;
        }

        WriteRaw(bytes.Span);
    }

    public void WriteCompactBytes(ReadOnlyMemory<byte> value) => WriteCompactNullableBytes(value);

    /// <summary>Writes an int32 array count; pass -1 for a null array.</summary>
    public void WriteArrayLength(int count) => WriteInt32(count);

    /// <summary>Writes a compact array count (count+1); pass -1 for a null array.</summary>
    public void WriteCompactArrayLength(int count) => WriteUnsignedVarInt((uint)(count + 1));

    /// <summary>
    /// Reserves four bytes to be filled later by <see cref="PatchInt32"/> (length prefixes). The returned
    /// handle is a buffer index, not a <see cref="Position"/>: compute lengths from <see cref="Position"/>.
    /// </summary>
    public int ReserveInt32()
    {
        var at = _position;
        Claim(4);
        return at;
    }

    public void PatchInt32(int reserved, int value) => BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(reserved, 4), value);

    /// <summary>Direct access to already written bytes, for CRC patching of record batches.</summary>
    public Span<byte> WrittenSpanMutable(int start, int length) => _buffer.AsSpan(start, length);
}
