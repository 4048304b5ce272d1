using System.Buffers.Binary;
using System.Numerics;

namespace Broker.Protocol.Records;

/// <summary>
/// CRC-32C (Castagnoli) as used by RecordBatch v2. <see cref="BitOperations.Crc32C(uint, ulong)"/> maps to the
/// SSE4.2 / ARMv8 CRC instruction, eight bytes at a time. Stateless; thread-safe.
/// </summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a CRC over more data; pass the previous result (0 to start).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var state = ~crc;
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return ~state;
    }
}
