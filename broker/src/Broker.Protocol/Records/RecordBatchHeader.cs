using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Broker.Protocol.Records;

/// <summary>Compression codec in bits 0-2 of a batch's attributes.</summary>
public enum CompressionType : byte
{
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

/// <summary>
/// Zero-copy view of the fixed 61-byte header of a RecordBatch (magic 2), read in place from a span.
/// Layout in docs/log-format.md. Stateless; thread-safe.
/// </summary>
public static class RecordBatchHeader
{
    public const int BaseOffsetOffset = 0;
    public const int LengthOffset = 8;
    public const int PartitionLeaderEpochOffset = 12;
    public const int MagicOffset = 16;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;
    public const int LastOffsetDeltaOffset = 23;
    public const int BaseTimestampOffset = 27;
    public const int MaxTimestampOffset = 35;
    public const int ProducerIdOffset = 43;
    public const int ProducerEpochOffset = 51;
    public const int BaseSequenceOffset = 53;
    public const int RecordsCountOffset = 57;

    /// <summary>Size of the fixed header; records start here.</summary>
    public const int Size = 61;

    /// <summary>Bytes before the batchLength field's coverage starts (baseOffset + batchLength).</summary>
    public const int LogOverhead = 12;

    public const byte CurrentMagic = 2;

    public const short CompressionMask = 0x07;
    public const short TimestampTypeMask = 0x08;
    public const short TransactionalMask = 0x10;
    public const short ControlMask = 0x20;
    public const short DeleteHorizonMask = 0x40;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long BaseOffset(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch);

    /// <summary>The batchLength field: bytes after it, so the whole batch is this plus 12.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BatchLength(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[LengthOffset..]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TotalSize(ReadOnlySpan<byte> batch) => BatchLength(batch) + LogOverhead;

    public static int PartitionLeaderEpoch(ReadOnlySpan<byte> batch) =>
        BinaryPrimitives.ReadInt32BigEndian(batch[PartitionLeaderEpochOffset..]);

    public static byte Magic(ReadOnlySpan<byte> batch) => batch[MagicOffset];

    public static uint Crc(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadUInt32BigEndian(batch[CrcOffset..]);

    public static short Attributes(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[AttributesOffset..]);

    public static CompressionType Compression(ReadOnlySpan<byte> batch) => (CompressionType)(Attributes(batch) & CompressionMask);

    public static bool IsLogAppendTime(ReadOnlySpan<byte> batch) => (Attributes(batch) & TimestampTypeMask) != 0;

    public static bool IsTransactional(ReadOnlySpan<byte> batch) => (Attributes(batch) & TransactionalMask) != 0;

    public static bool IsControl(ReadOnlySpan<byte> batch) => (Attributes(batch) & ControlMask) != 0;

    public static int LastOffsetDelta(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[LastOffsetDeltaOffset..]);

    public static long LastOffset(ReadOnlySpan<byte> batch) => BaseOffset(batch) + LastOffsetDelta(batch);

    public static long BaseTimestamp(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[BaseTimestampOffset..]);

    public static long MaxTimestamp(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[MaxTimestampOffset..]);

    public static long ProducerId(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch[ProducerIdOffset..]);

    public static short ProducerEpoch(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt16BigEndian(batch[ProducerEpochOffset..]);

    public static int BaseSequence(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[BaseSequenceOffset..]);

    public static int RecordsCount(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt32BigEndian(batch[RecordsCountOffset..]);

    /// <summary>CRC-32C over bytes [21, end) of the batch, hardware accelerated where available.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> batch) => Crc32C.Compute(batch[AttributesOffset..]);

    public static void SetBaseOffset(Span<byte> batch, long value) => BinaryPrimitives.WriteInt64BigEndian(batch, value);

    public static void SetPartitionLeaderEpoch(Span<byte> batch, int value) =>
        BinaryPrimitives.WriteInt32BigEndian(batch[PartitionLeaderEpochOffset..], value);

    /// <summary>Stamps LogAppendTime: sets the timestamp-type bit and maxTimestamp, then refreshes the CRC.</summary>
    public static void SetLogAppendTime(Span<byte> batch, long timestamp)
    {
        var attributes = (short)(Attributes(batch) | TimestampTypeMask);
        BinaryPrimitives.WriteInt16BigEndian(batch[AttributesOffset..], attributes);
        BinaryPrimitives.WriteInt64BigEndian(batch[MaxTimestampOffset..], timestamp);
        UpdateCrc(batch);
    }

    public static void UpdateCrc(Span<byte> batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[CrcOffset..], ComputeCrc(batch));
}
