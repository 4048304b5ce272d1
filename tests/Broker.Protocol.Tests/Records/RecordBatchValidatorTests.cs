using System.Buffers.Binary;
using Broker.Protocol.Records;

namespace Broker.Protocol.Tests.Records;

public sealed class RecordBatchValidatorTests
{
    private static readonly RecordBatchLimits Limits = RecordBatchLimits.Default;

    public static TheoryData<CompressionType, TimestampType> CodecsAndTimestampTypes() => RecordTestData.CodecsAndTimestampTypes();

    public static TheoryData<CompressionType> Codecs() => RecordTestData.Codecs();

    public static TheoryData<CompressionType> CompressedCodecs() => RecordTestData.CompressedCodecs();

    private static RecordBatchValidationResult Validate(ReadOnlySpan<byte> records) => RecordBatchValidator.Validate(records, Limits);

    /// <summary>Edits a batch as a hostile client could: change bytes, then fix up the CRC so only the edit is seen.</summary>
    private static byte[] Tamper(byte[] batch, Action<byte[]> edit)
    {
        var copy = (byte[])batch.Clone();
        edit(copy);
        RecordBatchHeader.UpdateCrc(copy);
        return copy;
    }

    [Theory]
    [MemberData(nameof(CodecsAndTimestampTypes))]
    public void Validate_BuiltBatch_IsValidWithSummary(CompressionType codec, TimestampType timestampType)
    {
        var records = RecordTestData.MakeRecords(200, 700, seed: 5);
        var batch = RecordTestData.Build(records, codec, timestampType, b => b.LogAppendTime = 1_800_000_000_000);

        var result = Validate(batch);

        Assert.True(result.IsValid, result.ErrorMessage);
        Assert.Equal(ErrorCode.None, result.Error);
        Assert.Null(result.ErrorMessage);
        Assert.Equal(1, result.BatchCount);
        Assert.Equal(200, result.RecordCount);
        Assert.Equal(batch.Length, result.BatchSize);
        Assert.Equal(codec, result.Compression);
        Assert.Equal(timestampType, result.TimestampType);
        Assert.Equal(0, result.FirstOffsetDelta);
        Assert.Equal(199, result.LastOffsetDelta);
        var expectedMax = timestampType == TimestampType.LogAppendTime ? 1_800_000_000_000 : records.Max(r => r.Timestamp);
        Assert.Equal(expectedMax, result.MaxTimestamp);
        Assert.Equal(records.Min(r => r.Timestamp), result.MinTimestamp);
        if (codec != CompressionType.None)
        {
            Assert.True(result.UncompressedRecordsSize > batch.Length - RecordBatchHeader.Size);
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Validate_AnySingleByteFlippedFromAttributesOn_IsCorruptMessage(CompressionType codec)
    {
        var batch = RecordTestData.SimpleBatch(codec, count: 5, valueSize: 40);
        for (var i = RecordBatchHeader.AttributesOffset; i < batch.Length; i++)
        {
            var copy = (byte[])batch.Clone();
            copy[i] ^= 0xFF;
            var result = Validate(copy);
            Assert.True(result.Error == ErrorCode.CorruptMessage, $"byte {i}: {result.Error} {result.ErrorMessage}");
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Validate_EveryTruncation_IsCorruptMessageWithoutThrowing(CompressionType codec)
    {
        var batch = RecordTestData.SimpleBatch(codec, count: 5, valueSize: 40);
        Assert.Equal(ErrorCode.InvalidRecord, Validate([]).Error); // no batch at all, as Kafka's "at least one batch" rule
        for (var length = 1; length < batch.Length; length++)
        {
            var result = Validate(batch.AsSpan(0, length));
            Assert.True(result.Error == ErrorCode.CorruptMessage, $"length {length}: {result.Error}");
            Assert.NotNull(result.ErrorMessage);
        }
    }

    [Fact]
    public void Validate_LargerThanMaxMessageBytes_IsMessageTooLarge()
    {
        var batch = RecordTestData.SimpleBatch(count: 10, valueSize: 1000);

        Assert.True(RecordBatchValidator.Validate(batch, new RecordBatchLimits(batch.Length)).IsValid);
        var result = RecordBatchValidator.Validate(batch, new RecordBatchLimits(batch.Length - 1));
        Assert.Equal(ErrorCode.MessageTooLarge, result.Error);
    }

    [Fact]
    public void Validate_LimitAppliesToCompressedSize_NotRecords()
    {
        var records = Enumerable.Range(0, 100).Select(i => new RecordTestData.TestRecord(i, null, new byte[1000], [])).ToList();
        var batch = RecordTestData.Build(records, CompressionType.Zstd);
        Assert.True(batch.Length < 10_000);
        Assert.True(RecordBatchValidator.Validate(batch, new RecordBatchLimits(10_000)).IsValid);
    }

    [Theory]
    [MemberData(nameof(CompressedCodecs))]
    public void Validate_DecompressionBomb_IsMessageTooLarge(CompressionType codec)
    {
        var records = Enumerable.Range(0, 64).Select(i => new RecordTestData.TestRecord(i, null, new byte[64 * 1024], [])).ToList();
        var batch = RecordTestData.Build(records, codec);

        var result = RecordBatchValidator.Validate(batch, new RecordBatchLimits(10_000_000, MaxUncompressedBytes: 1024 * 1024));

        Assert.Equal(ErrorCode.MessageTooLarge, result.Error);
        Assert.True(RecordBatchValidator.Validate(batch, new RecordBatchLimits(10_000_000, MaxUncompressedBytes: 8 * 1024 * 1024)).IsValid);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Validate_MagicOtherThanTwo_IsInvalidRecord(byte magic)
    {
        var batch = RecordTestData.SimpleBatch();
        batch[RecordBatchHeader.MagicOffset] = magic;
        Assert.Equal(ErrorCode.InvalidRecord, Validate(batch).Error);
    }

    [Fact]
    public void Validate_LegacyMagicOneMessage_IsInvalidRecord()
    {
        // offset, size, crc, magic 1, attributes, timestamp, null key, 1-byte value: a v1 message set entry.
        var message = Convert.FromHexString("0000000000000000" + "00000017" + "00000000" + "01" + "00" + "0000000000000000" + "FFFFFFFF" + "00000001" + "61");
        Assert.Equal(ErrorCode.InvalidRecord, Validate(message).Error);
    }

    [Fact]
    public void Validate_TwoBatches_IsInvalidRecord()
    {
        var batch = RecordTestData.SimpleBatch();
        var result = Validate(RecordTestData.Concat(batch, batch));
        Assert.Equal(ErrorCode.InvalidRecord, result.Error);
        Assert.Equal(2, result.BatchCount);
    }

    [Fact]
    public void Validate_TrailingBytesAfterBatch_IsInvalidRecord()
    {
        var batch = RecordTestData.SimpleBatch();
        Assert.Equal(ErrorCode.InvalidRecord, Validate(RecordTestData.Concat(batch, [0, 0, 0])).Error);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void Validate_CompressionCodecFiveToSeven_IsUnsupportedCompressionType(int codec)
    {
        var batch = Tamper(RecordTestData.SimpleBatch(), b => b[RecordBatchHeader.AttributesOffset + 1] = (byte)codec);
        var result = Validate(batch);
        Assert.Equal(ErrorCode.UnsupportedCompressionType, result.Error);
    }

    [Fact]
    public void Validate_BadBatchLength_IsCorruptMessage()
    {
        var batch = RecordTestData.SimpleBatch();
        var tooSmall = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(tooSmall.AsSpan(RecordBatchHeader.LengthOffset), 48);
        Assert.Equal(ErrorCode.CorruptMessage, Validate(tooSmall).Error);

        var negative = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(negative.AsSpan(RecordBatchHeader.LengthOffset), -1);
        Assert.Equal(ErrorCode.CorruptMessage, Validate(negative).Error);

        var huge = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(huge.AsSpan(RecordBatchHeader.LengthOffset), int.MaxValue);
        Assert.Equal(ErrorCode.CorruptMessage, Validate(huge).Error);
    }

    [Fact]
    public void Validate_ClientHeaderRules_AreInvalidRecord()
    {
        var batch = RecordTestData.SimpleBatch(count: 3);

        var nonZeroBase = (byte[])batch.Clone();
        RecordBatchHeader.SetBaseOffset(nonZeroBase, 5); // not covered by the CRC
        Assert.Equal(ErrorCode.InvalidRecord, Validate(nonZeroBase).Error);

        var control = Tamper(batch, b => b[RecordBatchHeader.AttributesOffset + 1] |= (byte)RecordBatchHeader.ControlMask);
        Assert.Equal(ErrorCode.InvalidRecord, Validate(control).Error);

        var lastDelta = Tamper(batch, b => BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatchHeader.LastOffsetDeltaOffset), 5));
        Assert.Equal(ErrorCode.InvalidRecord, Validate(lastDelta).Error);

        var zeroCount = Tamper(batch, b => BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatchHeader.RecordsCountOffset), 0));
        Assert.Equal(ErrorCode.InvalidRecord, Validate(zeroCount).Error);

        var idempotentNoSequence = RecordTestData.Build(RecordTestData.MakeRecords(3, 10, 1), configure: b => b.ProducerId = 7);
        Assert.Equal(ErrorCode.InvalidRecord, Validate(idempotentNoSequence).Error);

        var idempotent = RecordTestData.Build(RecordTestData.MakeRecords(3, 10, 1), configure: b => { b.ProducerId = 7; b.ProducerEpoch = 0; b.BaseSequence = 0; });
        Assert.True(Validate(idempotent).IsValid);
    }

    [Fact]
    public void Validate_RecordCountMismatch_IsCorruptMessage()
    {
        var batch = RecordTestData.SimpleBatch(count: 3);

        // Header claims 4 records (kept consistent with lastOffsetDelta) but only 3 are present.
        var more = Tamper(batch, b =>
        {
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatchHeader.RecordsCountOffset), 4);
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatchHeader.LastOffsetDeltaOffset), 3);
        });
        Assert.Equal(ErrorCode.CorruptMessage, Validate(more).Error);

        var fewer = Tamper(batch, b =>
        {
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatchHeader.RecordsCountOffset), 2);
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatchHeader.LastOffsetDeltaOffset), 1);
        });
        Assert.Equal(ErrorCode.CorruptMessage, Validate(fewer).Error);
    }

    [Fact]
    public void Validate_OffsetDeltaOutOfSequence_IsCorruptMessage()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(1, null, [1]);
        var batch = builder.ToArray();

        // The only record's offsetDelta byte sits after length, attributes and timestampDelta.
        var tampered = Tamper(batch, b => b[RecordBatchHeader.Size + 3] = 2); // zigzag 1
        var result = Validate(tampered);
        Assert.Equal(ErrorCode.CorruptMessage, result.Error);
    }

    [Fact]
    public void Validate_RandomRecordCorruptionWithFixedCrc_NeverThrows()
    {
        var batch = RecordTestData.SimpleBatch(count: 20, valueSize: 30);
        var random = new Random(3);
        for (var i = 0; i < 5000; i++)
        {
            var tampered = Tamper(batch, b => b[random.Next(RecordBatchHeader.Size, b.Length)] = (byte)random.Next(256));
            var result = Validate(tampered);
            Assert.True(result.IsValid || result.Error is ErrorCode.CorruptMessage or ErrorCode.InvalidRecord, result.ErrorMessage);
        }
    }

    [Theory]
    [MemberData(nameof(CompressedCodecs))]
    public void Validate_CorruptCompressedDataWithFixedCrc_IsCorruptMessage(CompressionType codec)
    {
        var batch = RecordTestData.SimpleBatch(codec);
        var tampered = Tamper(batch, b => b.AsSpan(RecordBatchHeader.Size, 8).Fill(0x5A));
        Assert.Equal(ErrorCode.CorruptMessage, Validate(tampered).Error);
    }

    [Fact]
    public void Validate_NullKeyOnCompactedTopic_IsInvalidRecord()
    {
        var batch = RecordTestData.SimpleBatch(count: 10); // record 0 has a null key
        Assert.True(Validate(batch).IsValid);
        var result = RecordBatchValidator.Validate(batch, Limits with { RequireKeys = true });
        Assert.Equal(ErrorCode.InvalidRecord, result.Error);

        var keyed = RecordTestData.Build([new RecordTestData.TestRecord(1, [1], null, [])]);
        Assert.True(RecordBatchValidator.Validate(keyed, Limits with { RequireKeys = true }).IsValid);
    }

    [Fact]
    public void Validate_UncompressedBatch_AllocatesNothing()
    {
        var batch = RecordTestData.SimpleBatch(count: 50, valueSize: 100);
        var limits = RecordBatchLimits.Default;
        Assert.True(RecordBatchValidator.Validate(batch, limits).IsValid); // warm-up: JIT, statics

        var before = GC.GetAllocatedBytesForCurrentThread();
        var valid = 0;
        for (var i = 0; i < 100; i++)
        {
            valid += RecordBatchValidator.Validate(batch, limits).IsValid ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(100, valid);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Validate_Failures_AllocateNothing()
    {
        var corrupt = RecordTestData.SimpleBatch();
        corrupt[^1] ^= 1;
        var limits = RecordBatchLimits.Default;
        _ = RecordBatchValidator.Validate(corrupt, limits);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = RecordBatchValidator.Validate(corrupt, limits);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(ErrorCode.CorruptMessage, result.Error);
    }
}
