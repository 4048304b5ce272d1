using System.Buffers;
using System.Buffers.Binary;

namespace Broker.Protocol;

/// <summary>Outcome of <see cref="Framing.TryReadFrame"/>.</summary>
public enum FrameStatus
{
    /// <summary>A whole frame was sliced off the buffer.</summary>
    Complete,

    /// <summary>More bytes are needed; nothing was consumed.</summary>
    Incomplete,

    /// <summary>The size prefix is negative or above the limit: the connection must be closed before buffering.</summary>
    Invalid,
}

/// <summary>
/// Kafka's length-prefixed framing (int32 big-endian size, then that many bytes). Sans-I/O: works on a
/// <see cref="ReadOnlySequence{T}"/> from a pipe and never buffers anything itself. Stateless; thread-safe.
/// </summary>
public static class Framing
{
    public const int SizePrefixLength = 4;

    /// <summary>
    /// Slices one frame (without its size prefix) off the front of <paramref name="buffer"/>. On
    /// <see cref="FrameStatus.Incomplete"/> the buffer is untouched, so a caller can report it as examined.
    /// The size is checked against <paramref name="maxFrameBytes"/> as soon as the 4 prefix bytes arrive,
    /// before any body bytes are waited for.
    /// </summary>
    public static FrameStatus TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameBytes, out ReadOnlySequence<byte> frame, out int declaredSize)
    {
        frame = default;
        declaredSize = 0;
        if (buffer.Length < SizePrefixLength)
        {
            return FrameStatus.Incomplete;
        }

        Span<byte> prefix = stackalloc byte[SizePrefixLength];
        buffer.Slice(0, SizePrefixLength).CopyTo(prefix);
        declaredSize = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (declaredSize < 0 || declaredSize > maxFrameBytes)
        {
            return FrameStatus.Invalid;
        }

        if (buffer.Length - SizePrefixLength < declaredSize)
        {
            return FrameStatus.Incomplete;
        }

        frame = buffer.Slice(SizePrefixLength, declaredSize);
        buffer = buffer.Slice(frame.End);
        return FrameStatus.Complete;
    }
}
