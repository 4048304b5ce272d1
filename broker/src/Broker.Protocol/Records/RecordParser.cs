using System.Runtime.CompilerServices;

namespace Broker.Protocol.Records;

/// <summary>Where the parts of one record sit, relative to the start of its length varint. Plain data; not shared.</summary>
internal struct RecordLayout
{
    public int TotalSize;
    public long TimestampDelta;
    public int OffsetDelta;
    public int KeyStart;

    /// <summary>-1 for a null key.</summary>
    public int KeyLength;

    public int ValueStart;

    /// <summary>-1 for a null value.</summary>
    public int ValueLength;

    public int HeaderCount;
    public int HeadersStart;
    public int HeadersLength;
}

/// <summary>
/// Parses the v2 record framing in place without allocating. Every length is checked against the bytes that
/// remain, so hostile input can only produce a failure, never an out-of-range read. Stateless; thread-safe.
/// </summary>
internal static class RecordParser
{
    /// <summary>length(1) attributes(1) timestampDelta(1) offsetDelta(1) keyLength(1) valueLength(1) headers(1).</summary>
    public const int MinRecordSize = 7;

    /// <summary>Parses one record at the start of <paramref name="source"/>; returns an error text or null.</summary>
    public static string? TryParse(ReadOnlySpan<byte> source, out RecordLayout layout)
    {
        layout = default;
        if (!VarInt.TryReadSigned(source, out var bodyLength, out var pos))
        {
            return "Record length is truncated or malformed.";
        }

        if (bodyLength < MinRecordSize - 1 || bodyLength > source.Length - pos)
        {
            return "Record length is out of bounds.";
        }

        var end = pos + bodyLength;
        var body = source[..end];
        pos++; // attributes: unused, ignored as Java does

        if (!VarInt.TryReadSignedLong(body[pos..], out layout.TimestampDelta, out var n))
        {
            return "Record timestamp delta is malformed.";
        }

        pos += n;
        if (!VarInt.TryReadSigned(body[pos..], out layout.OffsetDelta, out n))
        {
            return "Record offset delta is malformed.";
        }

        pos += n;
        if (!TryReadBytes(body, ref pos, out layout.KeyStart, out layout.KeyLength))
        {
            return "Record key length is out of bounds.";
        }

        if (!TryReadBytes(body, ref pos, out layout.ValueStart, out layout.ValueLength))
        {
            return "Record value length is out of bounds.";
        }

        if (!VarInt.TryReadSigned(body[pos..], out layout.HeaderCount, out n) || layout.HeaderCount < 0)
        {
            return "Record header count is malformed.";
        }

        pos += n;
        layout.HeadersStart = pos;
        for (var i = 0; i < layout.HeaderCount; i++)
        {
            if (!TryReadBytes(body, ref pos, out _, out var keyLength) || keyLength < 0)
            {
                return "Record header key is null or out of bounds.";
            }

            if (!TryReadBytes(body, ref pos, out _, out _))
            {
                return "Record header value length is out of bounds.";
            }
        }

        if (pos != end)
        {
            return "Record length does not match its contents.";
        }

        layout.HeadersLength = pos - layout.HeadersStart;
        layout.TotalSize = end;
        return null;
    }

    /// <summary>Reads a varint length (-1 = null) and skips that many bytes; fails if they are not all there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadBytes(ReadOnlySpan<byte> body, ref int pos, out int start, out int length)
    {
        if (!VarInt.TryReadSigned(body[pos..], out length, out var n) || length < -1 || length > body.Length - pos - n)
        {
            start = 0;
            return false;
        }

        start = pos + n;
        pos = start + Math.Max(length, 0);
        return true;
    }
}
