using System.Runtime.CompilerServices;

namespace Broker.Protocol;

/// <summary>
/// Kafka's unsigned and zig-zag varints (protobuf style, least significant group first).
/// Readers reject overlong encodings as Java's ByteUtils does. Stateless; thread-safe.
/// </summary>
public static class VarInt
{
    public static bool TryReadUnsigned(ReadOnlySpan<byte> source, out uint value, out int bytesRead)
    {
        uint result = 0;
        for (int i = 0; i < 5; i++)
        {
            if (i >= source.Length)
            {
                break;
            }

            uint b = source[i];
            if (i == 4 && b > 0x0F)
            {
                break;
            }

            result |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                value = result;
                bytesRead = i + 1;
                return true;
            }
        }

        value = 0;
        bytesRead = 0;
        return false;
    }

    public static bool TryReadUnsignedLong(ReadOnlySpan<byte> source, out ulong value, out int bytesRead)
    {
        ulong result = 0;
        for (int i = 0; i < 10; i++)
        {
            if (i >= source.Length)
            {
                break;
            }

            ulong b = source[i];
            if (i == 9 && b > 0x01)
            {
                break;
            }

            result |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                value = result;
                bytesRead = i + 1;
                return true;
            }
        }

        value = 0;
        bytesRead = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadSigned(ReadOnlySpan<byte> source, out int value, out int bytesRead)
    {
        if (source.Length > 0 && source[0] < 0x80)
        {
            uint raw = source[0];
            value = (int)(raw >> 1) ^ -(int)(raw & 1);
            bytesRead = 1;
            return true;
        }

        var ok = TryReadUnsigned(source, out var u, out bytesRead);
        value = (int)(u >> 1) ^ -(int)(u & 1);
        return ok;
    }

    public static bool TryReadSignedLong(ReadOnlySpan<byte> source, out long value, out int bytesRead)
    {
        var ok = TryReadUnsignedLong(source, out var u, out bytesRead);
        value = (long)(u >> 1) ^ -(long)(u & 1);
        return ok;
    }

    public static int SizeOfUnsigned(uint value) => value switch
    {
        < 1u << 7 => 1,
        < 1u << 14 => 2,
        < 1u << 21 => 3,
        < 1u << 28 => 4,
        _ => 5,
    };

    public static int SizeOfSigned(int value) => SizeOfUnsigned((uint)((value << 1) ^ (value >> 31)));

    public static int SizeOfSignedLong(long value)
    {
        var v = (ulong)((value << 1) ^ (value >> 63));
        var size = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            size++;
        }

        return size;
    }

    /// <summary>Writes an unsigned varint; the destination must hold <see cref="SizeOfUnsigned"/> bytes.</summary>
    public static int WriteUnsigned(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteUnsignedLong(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteSigned(Span<byte> destination, int value) =>
        WriteUnsigned(destination, (uint)((value << 1) ^ (value >> 31)));

    public static int WriteSignedLong(Span<byte> destination, long value) =>
        WriteUnsignedLong(destination, (ulong)((value << 1) ^ (value >> 63)));
}
