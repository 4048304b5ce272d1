using Broker.Protocol.Records;

namespace Broker.Protocol.Tests.Records;

public sealed class RecordBatchRecompressorTests
{
    public static TheoryData<CompressionType, CompressionType> CodecPairs()
    {
        var data = new TheoryData<CompressionType, CompressionType>();
        foreach (var from in RecordTestData.AllCodecs)
        {
            foreach (var to in RecordTestData.AllCodecs)
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CodecPairs))]
    public void Recompress_AnyCodecPair_ValidBatchWithSameRecordsAndProducerFields(CompressionType from, CompressionType to)
    {
        using var builder = new RecordBatchBuilder(from)
        {
            ProducerId = 42,
            ProducerEpoch = 3,
            BaseSequence = 7,
        };
        for (var i = 0; i < 50; i++)
        {
            builder.Append(1_700_000_000_000 + i, i % 3 == 0 ? null : [(byte)i], new byte[i * 3], [("h", [(byte)i]), ("n", null)]);
        }

        var original = builder.ToArray();
        using var output = new KafkaWriter();

        var size = RecordBatchRecompressor.Recompress(original, to, output);

        var batch = output.WrittenSpan.ToArray();
        Assert.Equal(batch.Length, size);
        Assert.Equal(to, RecordBatchHeader.Compression(batch));
        var validation = RecordBatchValidator.Validate(batch, RecordBatchLimits.Default);
        Assert.True(validation.IsValid, validation.ErrorMessage);
        Assert.Equal(50, validation.RecordCount);
        Assert.Equal(42, RecordBatchHeader.ProducerId(batch));
        Assert.Equal(3, RecordBatchHeader.ProducerEpoch(batch));
        Assert.Equal(7, RecordBatchHeader.BaseSequence(batch));
        Assert.Equal(RecordBatchHeader.MaxTimestamp(original), RecordBatchHeader.MaxTimestamp(batch));

        var before = RecordBatchReader.ReadAll(original);
        var after = RecordBatchReader.ReadAll(batch);
        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
        {
            var (_, a) = before[i];
            var (_, b) = after[i];
            Assert.Equal(a.Offset, b.Offset);
            Assert.Equal(a.Timestamp, b.Timestamp);
            Assert.Equal(a.KeyToArray(), b.KeyToArray());
            Assert.Equal(a.ValueToArray(), b.ValueToArray());
            Assert.Equal(a.HeaderBytes.ToArray(), b.HeaderBytes.ToArray());
        }
    }
}
