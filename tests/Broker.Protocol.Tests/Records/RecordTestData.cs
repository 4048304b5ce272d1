using Broker.Protocol.Records;

namespace Broker.Protocol.Tests.Records;

/// <summary>Shared inputs for the record tests. Deterministic (seeded); no shared mutable state.</summary>
internal static class RecordTestData
{
    public static readonly CompressionType[] AllCodecs =
        [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    public static TheoryData<CompressionType> Codecs()
    {
        var data = new TheoryData<CompressionType>();
        foreach (var codec in AllCodecs)
        {
            data.Add(codec);
        }

        return data;
    }

    public static TheoryData<CompressionType> CompressedCodecs()
    {
        var data = new TheoryData<CompressionType>();
        foreach (var codec in AllCodecs)
        {
            if (codec != CompressionType.None)
            {
                data.Add(codec);
            }
        }

        return data;
    }

    public static TheoryData<CompressionType, TimestampType> CodecsAndTimestampTypes()
    {
        var data = new TheoryData<CompressionType, TimestampType>();
        foreach (var codec in AllCodecs)
        {
            data.Add(codec, TimestampType.CreateTime);
            data.Add(codec, TimestampType.LogAppendTime);
        }

        return data;
    }

    /// <summary>Half random, half repetitive bytes: compressible but not trivially so.</summary>
    public static byte[] MixedBytes(int length, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (i / 64) % 2 == 0 ? (byte)random.Next(256) : (byte)('a' + (i % 7));
        }

        return bytes;
    }

    /// <summary>Record spec used by round-trip tests: covers null/empty/non-null keys and values and headers.</summary>
    public sealed record TestRecord(long Timestamp, byte[]? Key, byte[]? Value, (string Key, byte[]? Value)[] Headers);

    public static List<TestRecord> MakeRecords(int count, int valueSize, int seed)
    {
        var random = new Random(seed);
        var records = new List<TestRecord>(count);
        for (var i = 0; i < count; i++)
        {
            byte[]? key = (i % 5) switch
            {
                0 => null,
                1 => [],
                _ => System.Text.Encoding.UTF8.GetBytes($"key-{i}"),
            };
            byte[]? value = i % 7 == 3 ? null : MixedBytes(i % 3 == 0 ? 0 : valueSize, seed + i);
            (string, byte[]?)[] headers = (i % 4) switch
            {
                0 => [],
                1 => [("trace", [1, 2, 3])],
                2 => [("a", null), ("ünïcode-κλειδί", [9]), ("empty", [])],
                _ => [("h", MixedBytes(17, i))],
            };

            // Timestamps wander up and down so the maximum is not simply the last one.
            records.Add(new TestRecord(1_700_000_000_000 + random.Next(-5000, 5000), key, value, headers));
        }

        return records;
    }

    public static byte[] Build(
        IReadOnlyList<TestRecord> records,
        CompressionType codec = CompressionType.None,
        TimestampType timestampType = TimestampType.CreateTime,
        Action<RecordBatchBuilder>? configure = null)
    {
        using var builder = new RecordBatchBuilder(codec, timestampType);
        configure?.Invoke(builder);
        foreach (var r in records)
        {
            builder.Append(r.Timestamp, r.Key, r.Value, r.Headers);
        }

        return builder.ToArray();
    }

    public static byte[] SimpleBatch(CompressionType codec = CompressionType.None, int count = 10, int valueSize = 100) =>
        Build(MakeRecords(count, valueSize, seed: 42), codec);

    public static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, at);
            at += part.Length;
        }

        return result;
    }

    /// <summary>
    /// Bit-at-a-time table-driven CRC-32C (reflected polynomial 0x82F63B78), independent of the production
    /// implementation, for golden tests.
    /// </summary>
    public static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }
}
