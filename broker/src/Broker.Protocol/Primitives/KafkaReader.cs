using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Broker.Protocol;

/// <summary>
/// Forward-only reader over one complete, already-framed Kafka message (big-endian, Kafka primitive
/// encodings). Byte and record fields are returned as slices of the source memory, never copies.
/// Throws <see cref="KafkaProtocolException"/> on malformed input. A ref struct owned by one caller.
/// </summary>
public ref struct KafkaReader
{
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly ReadOnlySpan<byte> _span;
    private int _position;

    public KafkaReader(ReadOnlyMemory<byte> buffer)
    {
        _memory = buffer;
        _span = buffer.Span;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _span.Length - _position;

    public readonly ReadOnlySpan<byte> RemainingSpan => _span[_position..];

    public readonly ReadOnlyMemory<byte> RemainingMemory => _memory[_position..];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)(_span.Length - _position))
        {
            ThrowHelper.Truncated(count, _span.Length - _position);
        }

        var slice = _span.Slice(_position, count);
        _position += count;
        return slice;
    }

    public void Skip(int count) => Take(count);

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public bool ReadBool() => Take(1)[0] != 0;

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    /// <summary>Kafka uuid: 16 bytes, most significant long first. Stored in a Guid in big-endian byte order.</summary>
    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    public uint ReadUnsignedVarInt()
    {
        if (!VarInt.TryReadUnsigned(_span[_position..], out var value, out var read))
        {
            ThrowHelper.Malformed("Malformed or truncated unsigned varint.");
        }

        _position += read;
        return value;
    }

    public int ReadVarInt()
    {
        if (!VarInt.TryReadSigned(_span[_position..], out var value, out var read))
        {
            ThrowHelper.Malformed("Malformed or truncated varint.");
        }

        _position += read;
        return value;
    }

    public long ReadVarLong()
    {
        if (!VarInt.TryReadSignedLong(_span[_position..], out var value, out var read))
        {
            ThrowHelper.Malformed("Malformed or truncated varlong.");
        }

        _position += read;
        return value;
    }

    /// <summary>Reads an int16-length string; -1 means null.</summary>
    public string? ReadNullableString()
    {
        int length = ReadInt16();
        if (length < 0)
        {
            if (length != -1)
            {
                ThrowHelper.Malformed($"Invalid string length {length}.");
            }

            return null;
        }

        return Encoding.UTF8.GetString(Take(length));
    }

    public string ReadString() => ReadNullableString() ?? throw new KafkaProtocolException("Non-nullable string was null.");

    /// <summary>Reads a compact (uvarint length+1) string; 0 means null.</summary>
    public string? ReadCompactNullableString()
    {
        var length = (long)ReadUnsignedVarInt() - 1;
        if (length < 0)
        {
            return null;
        }

        if (length > int.MaxValue)
        {
            ThrowHelper.Malformed("Compact string length overflows.");
        }

        return Encoding.UTF8.GetString(Take((int)length));
    }

    public string ReadCompactString() =>
        ReadCompactNullableString() ?? throw new KafkaProtocolException("Non-nullable compact string was null.");

    /// <summary>Reads int32-length bytes as a slice of the source; -1 means null.</summary>
    public ReadOnlyMemory<byte>? ReadNullableBytes()
    {
        var length = ReadInt32();
        if (length < 0)
        {
            if (length != -1)
            {
                ThrowHelper.Malformed($"Invalid bytes length {length}.");
            }

            return null;
        }

        return Slice(length);
    }

    public ReadOnlyMemory<byte> ReadBytes() =>
        ReadNullableBytes() ?? throw new KafkaProtocolException("Non-nullable bytes were null.");

    /// <summary>Reads compact (uvarint length+1) bytes as a slice of the source; 0 means null.</summary>
    public ReadOnlyMemory<byte>? ReadCompactNullableBytes()
    {
        var length = (long)ReadUnsignedVarInt() - 1;
        if (length < 0)
        {
            return null;
        }

        if (length > int.MaxValue)
        {
            ThrowHelper.Malformed("Compact bytes length overflows.");
        }

        return Slice((int)length);
    }

    public ReadOnlyMemory<byte> ReadCompactBytes() =>
        ReadCompactNullableBytes() ?? throw new KafkaProtocolException("Non-nullable compact bytes were null.");

    /// <summary>Reads an int32 array count; -1 means null (returned as -1). Rejects counts that cannot fit.</summary>
    public int ReadArrayLength()
    {
        var count = ReadInt32();
        if (count < -1)
        {
            ThrowHelper.Malformed($"Invalid array length {count}.");
        }

        CheckCount(count);
        return count;
    }

    /// <summary>Reads a compact array count (uvarint count+1); returns -1 for null.</summary>
    public int ReadCompactArrayLength()
    {
        var raw = ReadUnsignedVarInt();
        if (raw > int.MaxValue)
        {
            ThrowHelper.Malformed("Compact array length overflows.");
        }

        var count = (int)raw - 1;
        CheckCount(count);
        return count;
    }

    // Each element takes at least one byte, so a count above the remaining bytes is a lie that would
    // otherwise make us allocate a huge list.
    private readonly void CheckCount(int count)
    {
        if (count > Remaining)
        {
            ThrowHelper.Malformed($"Array length {count} exceeds the {Remaining} bytes remaining.");
        }
    }

    /// <summary>Returns the next <paramref name="length"/> bytes as a slice of the source memory.</summary>
    public ReadOnlyMemory<byte> Slice(int length)
    {
        if ((uint)length > (uint)(_span.Length - _position))
        {
            ThrowHelper.Truncated(length, _span.Length - _position);
        }

        var slice = _memory.Slice(_position, length);
        _position += length;
        return slice;
    }

    /// <summary>Skips a whole tagged-field section whose fields are all unknown to the caller.</summary>
    public void SkipTaggedFields()
    {
        var count = ReadUnsignedVarInt();
        for (uint i = 0; i < count; i++)
        {
            ReadUnsignedVarInt();
            var size = ReadUnsignedVarInt();
            if (size > int.MaxValue)
            {
                ThrowHelper.Malformed("Tagged field size overflows.");
            }

            Skip((int)size);
        }
    }
}
