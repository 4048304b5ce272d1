using System.Buffers.Binary;
using Broker.Protocol.Records;

namespace Broker.Protocol.Tests.Records;

public sealed class RecordBatchBuilderTests
{
    /// <summary>
    /// Two records written out by hand from the format description: (ts, "key", "value", [h1 = 01 02]) and
    /// (ts + 5, null key, empty value, no headers). CRC left as zero and filled by the test.
    /// </summary>
    private static byte[] GoldenBatchWithoutCrc() => Convert.FromHexString(string.Concat(
        "0000000000000000", // baseOffset 0
        "0000004D", // batchLength 77 = 89 - 12
        "FFFFFFFF", // partitionLeaderEpoch -1
        "02", // magic
        "00000000", // crc (patched)
        "0000", // attributes: no compression, CreateTime
        "00000001", // lastOffsetDelta
        "0000018BCFE56800", // baseTimestamp 1_700_000_000_000
        "0000018BCFE56805", // maxTimestamp
        "FFFFFFFFFFFFFFFF", // producerId -1
        "FFFF", // producerEpoch -1
        "FFFFFFFF", // baseSequence -1
        "00000002", // recordsCount
        // record 0: length 20 (zigzag 0x28), attributes, tsDelta 0, offsetDelta 0
        "28", "00", "00", "00",
        "06", "6B6579", // key length 3, "key"
        "0A", "76616C7565", // value length 5, "value"
        "02", // one header
        "04", "6831", "04", "0102", // "h1" = 01 02
        // record 1: length 6, attributes, tsDelta 5 (0x0A), offsetDelta 1 (0x02), null key, empty value, no headers
        "0C", "00", "0A", "02", "01", "00", "00"));

    [Fact]
    public void WriteTo_GoldenBatch_MatchesHandBuiltBytesExactly()
    {
        var expected = GoldenBatchWithoutCrc();
        var crc = RecordTestData.ReferenceCrc32C(expected.AsSpan(21));
        BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(17), crc);

        using var builder = new RecordBatchBuilder();
        builder.Append(1_700_000_000_000, "key"u8.ToArray(), "value"u8.ToArray(), [("h1", [1, 2])]);
        builder.Append(1_700_000_000_005, null, []);
        var actual = builder.ToArray();

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(actual));
    }

    [Fact]
    public void ReferenceCrc32C_CheckValue_MatchesStandardAndProduction()
    {
        Assert.Equal(0xE3069283u, RecordTestData.ReferenceCrc32C("123456789"u8));
        var data = RecordTestData.MixedBytes(10_000, 1);
        Assert.Equal(RecordTestData.ReferenceCrc32C(data), Crc32C.Compute(data));
    }

    [Fact]
    public void WriteTo_HeaderFields_ReflectSettingsAndRecords()
    {
        using var builder = new RecordBatchBuilder(CompressionType.Zstd, TimestampType.LogAppendTime)
        {
            BaseOffset = 1000,
            PartitionLeaderEpoch = 7,
            ProducerId = 42,
            ProducerEpoch = 3,
            BaseSequence = 99,
            IsTransactional = true,
            LogAppendTime = 5555,
        };
        builder.Append(300, null, [1]).Append(100, null, [2]).Append(200, null, [3]);
        var batch = builder.ToArray();

        Assert.Equal(1000, RecordBatchHeader.BaseOffset(batch));
        Assert.Equal(batch.Length, RecordBatchHeader.TotalSize(batch));
        Assert.Equal(7, RecordBatchHeader.PartitionLeaderEpoch(batch));
        Assert.Equal(2, RecordBatchHeader.Magic(batch));
        Assert.Equal(RecordBatchHeader.ComputeCrc(batch), RecordBatchHeader.Crc(batch));
        Assert.Equal(CompressionType.Zstd, RecordBatchHeader.Compression(batch));
        Assert.True(RecordBatchHeader.IsLogAppendTime(batch));
        Assert.True(RecordBatchHeader.IsTransactional(batch));
        Assert.False(RecordBatchHeader.IsControl(batch));
        Assert.Equal(2, RecordBatchHeader.LastOffsetDelta(batch));
        Assert.Equal(300, RecordBatchHeader.BaseTimestamp(batch));
        Assert.Equal(5555, RecordBatchHeader.MaxTimestamp(batch));
        Assert.Equal(42, RecordBatchHeader.ProducerId(batch));
        Assert.Equal(3, RecordBatchHeader.ProducerEpoch(batch));
        Assert.Equal(99, RecordBatchHeader.BaseSequence(batch));
        Assert.Equal(3, RecordBatchHeader.RecordsCount(batch));
        Assert.Equal(300, builder.MaxTimestamp);
    }

    [Fact]
    public void WriteTo_CreateTime_MaxTimestampIsLargestRecordTimestamp()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(300, null, [1]).Append(900, null, [2]).Append(200, null, [3]);
        var batch = builder.ToArray();
        Assert.Equal(300, RecordBatchHeader.BaseTimestamp(batch));
        Assert.Equal(900, RecordBatchHeader.MaxTimestamp(batch));
        Assert.False(RecordBatchHeader.IsLogAppendTime(batch));
    }

    [Fact]
    public void WriteTo_CalledTwiceAndAfterReset_IsRepeatable()
    {
        using var builder = new RecordBatchBuilder(CompressionType.Lz4);
        builder.Append(1, [1], [2]);
        var first = builder.ToArray();
        Assert.Equal(first, builder.ToArray());

        builder.Reset();
        Assert.Equal(0, builder.Count);
        builder.Append(1, [1], [2]);
        Assert.Equal(first, builder.ToArray());
    }

    [Fact]
    public void WriteTo_NoRecords_Throws()
    {
        using var builder = new RecordBatchBuilder();
        Assert.Throws<InvalidOperationException>(() => builder.ToArray());
    }

    [Fact]
    public void WriteTo_IntoKafkaWriterAfterOtherData_AppendsContiguousBatch()
    {
        using var builder = new RecordBatchBuilder(CompressionType.Snappy);
        builder.Append(10, [1], [2]);
        using var writer = new KafkaWriter(16);
        writer.WriteInt32(12345);
        var n = builder.WriteTo(writer);
        Assert.Equal(writer.Position - 4, n);
        Assert.Equal(builder.ToArray(), writer.WrittenSpan[4..].ToArray());
    }
}
