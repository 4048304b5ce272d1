using Broker.Protocol.Records;

namespace Broker.Protocol.Tests.Records;

public sealed class RecordBatchReaderTests
{
    public static TheoryData<CompressionType, TimestampType> CodecsAndTimestampTypes() => RecordTestData.CodecsAndTimestampTypes();

    [Theory]
    [MemberData(nameof(CodecsAndTimestampTypes))]
    public void ReadRecords_BuilderValidatorReaderRoundTrip_PreservesEverything(CompressionType codec, TimestampType timestampType)
    {
        const long appendTime = 1_800_000_000_000;
        var records = RecordTestData.MakeRecords(300, 500, seed: 17);
        var batchBytes = RecordTestData.Build(records, codec, timestampType, b => b.LogAppendTime = appendTime);
        Assert.True(RecordBatchValidator.Validate(batchBytes, RecordBatchLimits.Default).IsValid);

        // The broker assigns the offset in place; the CRC does not cover the base offset.
        RecordBatchHeader.SetBaseOffset(batchBytes, 5000);

        using var reader = new RecordBatchReader(batchBytes);
        Assert.True(reader.TryReadBatch(out var batch));
        Assert.True(batch.IsCrcValid);
        Assert.Equal(codec, batch.Compression);
        Assert.Equal(timestampType, batch.TimestampType);
        Assert.Equal(5000, batch.BaseOffset);
        Assert.Equal(5299, batch.LastOffset);
        Assert.Equal(300, batch.RecordsCount);

        var i = 0;
        foreach (var record in reader.ReadRecords(batch))
        {
            var expected = records[i];
            Assert.Equal(5000 + i, record.Offset);
            Assert.Equal(i, record.OffsetDelta);
            Assert.Equal(timestampType, record.TimestampType);
            Assert.Equal(timestampType == TimestampType.LogAppendTime ? appendTime : expected.Timestamp, record.Timestamp);
            Assert.Equal(expected.Key, record.KeyToArray());
            Assert.Equal(expected.Value, record.ValueToArray());
            Assert.Equal(expected.Key is not null, record.HasKey);
            Assert.Equal(expected.Value is not null, record.HasValue);
            Assert.Equal(expected.Headers.Length, record.HeaderCount);

            var h = 0;
            foreach (var header in record.Headers)
            {
                Assert.Equal(expected.Headers[h].Key, header.Key);
                Assert.Equal(expected.Headers[h].Value, header.ValueToArray());
                h++;
            }

            Assert.Equal(expected.Headers.Length, h);
            i++;
        }

        Assert.Equal(records.Count, i);
        Assert.False(reader.TryReadBatch(out _));
        Assert.False(reader.HasIncompleteBatch);
    }

    [Fact]
    public void TryReadBatch_SeveralBatchesAndPartialTail_ReadsCompleteOnes()
    {
        var a = RecordTestData.Build(RecordTestData.MakeRecords(3, 10, 1), CompressionType.Gzip, configure: b => b.BaseOffset = 0);
        var b = RecordTestData.Build(RecordTestData.MakeRecords(2, 10, 2), CompressionType.None, configure: b => b.BaseOffset = 3);
        var c = RecordTestData.Build(RecordTestData.MakeRecords(4, 10, 3), CompressionType.Lz4, configure: b => b.BaseOffset = 5);
        var buffer = RecordTestData.Concat(a, b, c[..^10]); // a fetch response may end mid-batch

        using var reader = new RecordBatchReader(buffer);
        var offsets = new List<long>();
        while (reader.TryReadBatch(out var batch))
        {
            foreach (var record in reader.ReadRecords(batch))
            {
                offsets.Add(record.Offset);
            }
        }

        Assert.Equal([0, 1, 2, 3, 4], offsets);
        Assert.True(reader.HasIncompleteBatch);
        Assert.Equal(a.Length + b.Length, reader.Position);
    }

    [Fact]
    public void ReadAll_CompressedBatches_RecordsOutliveTheReader()
    {
        var a = RecordTestData.Build(RecordTestData.MakeRecords(3, 10, 1), CompressionType.Zstd);
        var b = RecordTestData.Build(RecordTestData.MakeRecords(3, 10, 2), CompressionType.Snappy, configure: x => x.BaseOffset = 3);

        var all = RecordBatchReader.ReadAll(RecordTestData.Concat(a, b));

        Assert.Equal(6, all.Count);
        Assert.Equal(RecordTestData.MakeRecords(3, 10, 1)[2].Value, all[2].Record.ValueToArray());
        Assert.Equal(RecordTestData.MakeRecords(3, 10, 2)[1].Value, all[4].Record.ValueToArray());
        Assert.Equal(CompressionType.Snappy, all[4].Batch.Compression);
    }

    [Fact]
    public void TryReadBatch_LegacyMagic_Throws()
    {
        var batch = RecordTestData.SimpleBatch();
        batch[RecordBatchHeader.MagicOffset] = 1;
        using var reader = new RecordBatchReader(batch);
        Assert.Throws<KafkaProtocolException>(() => reader.TryReadBatch(out _));
    }

    [Fact]
    public void ReadRecords_MalformedRecord_Throws()
    {
        var batch = RecordTestData.SimpleBatch(count: 2);
        batch[RecordBatchHeader.Size] = 0x7F; // first record's length now runs past the end
        using var reader = new RecordBatchReader(batch);
        Assert.True(reader.TryReadBatch(out var view));
        Assert.False(view.IsCrcValid);
        Assert.Throws<KafkaProtocolException>(() =>
        {
            foreach (var record in reader.ReadRecords(view))
            {
                _ = record.Offset;
            }
        });
    }

    [Fact]
    public void ReadRecords_Bomb_ThrowsDecompressionException()
    {
        var records = Enumerable.Range(0, 32).Select(i => new RecordTestData.TestRecord(i, null, new byte[64 * 1024], [])).ToList();
        var batch = RecordTestData.Build(records, CompressionType.Zstd);
        using var reader = new RecordBatchReader(batch, maxDecompressedBytes: 100_000);
        Assert.True(reader.TryReadBatch(out var view));
        var e = Assert.Throws<DecompressionException>(() => reader.ReadRecords(view));
        Assert.Equal(DecompressionStatus.OutputLimitExceeded, e.Status);
    }
}
