using Broker.Protocol.Records;

namespace Broker.Storage.Tests;

public sealed class TimestampLookupTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();
    private readonly LogManager _manager;

    public TimestampLookupTests()
    {
        _manager = TestLogs.Open(_dir.Path, _time);
    }

    public void Dispose()
    {
        _manager.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void OffsetForTimestamp_UncompressedBatches_FindsFirstRecordAtOrAfterTarget()
    {
        var log = _manager.GetOrCreateLog("ts", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create([100, 105, 102]), 7, 0, false); // offsets 0-2
        log.Append(TestBatches.Create([200, 210]), 8, 0, false);     // offsets 3-4

        Assert.Equal(new TimestampOffset(0, 100, 7), log.OffsetForTimestamp(50));
        Assert.Equal(new TimestampOffset(1, 105, 7), log.OffsetForTimestamp(101));
        Assert.Equal(new TimestampOffset(1, 105, 7), log.OffsetForTimestamp(105));
        Assert.Equal(new TimestampOffset(3, 200, 8), log.OffsetForTimestamp(106));
        Assert.Equal(new TimestampOffset(4, 210, 8), log.OffsetForTimestamp(201));
        Assert.Null(log.OffsetForTimestamp(211));
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void OffsetForTimestamp_CompressedBatch_ExactRecordAsKafka(CompressionType compression)
    {
        var log = _manager.GetOrCreateLog("ts", 0, Guid.NewGuid(), TestLogs.Small);
        using var builder = new RecordBatchBuilder(compression);
        foreach (var ts in new long[] { 100, 150, 120, 160 })
        {
            builder.Append(ts, null, new byte[64]);
        }

        var batch = builder.ToArray();
        Assert.Equal(compression, RecordBatchHeader.Compression(batch));
        log.Append(batch, 0, 0, false); // offsets 0-3

        Assert.Equal(new TimestampOffset(1, 150, 0), log.OffsetForTimestamp(140));
        Assert.Equal(new TimestampOffset(3, 160, 0), log.OffsetForTimestamp(155));
        Assert.Equal(new TimestampOffset(0, 100, 0), log.OffsetForTimestamp(0));
        Assert.Null(log.OffsetForTimestamp(161));
    }

    [Fact]
    public void OffsetForTimestamp_LogAppendTime_FirstRecordOfBatchWithBrokerTime()
    {
        var log = _manager.GetOrCreateLog("ts", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create([100, 150, 120]), 0, 0, false);                 // 0-2
        log.Append(TestBatches.Create(2, timestamp: 1), 0, 5_000, logAppendTime: true); // 3-4

        Assert.Equal(new TimestampOffset(3, 5_000, 0), log.OffsetForTimestamp(151));
    }

    [Fact]
    public void OffsetForTimestamp_ManySegments_UsesTimeIndexAndSkipsOlderSegments()
    {
        var config = TestLogs.Small with { SegmentBytes = 4 * 1024, IndexIntervalBytes = 128 };
        var log = _manager.GetOrCreateLog("ts", 0, Guid.NewGuid(), config);
        for (var i = 0; i < 300; i++)
        {
            log.Append(TestBatches.Create([1_000 + (i * 10), 1_000 + (i * 10) + 5]), 0, 0, false); // offsets 2i, 2i+1
        }

        Assert.True(log.SegmentCount > 3);
        for (var i = 0; i < 300; i += 7)
        {
            Assert.Equal(new TimestampOffset(2 * i, 1_000 + (i * 10), 0), log.OffsetForTimestamp(1_000 + (i * 10) - 4));
            Assert.Equal(new TimestampOffset((2 * i) + 1, 1_000 + (i * 10) + 5, 0), log.OffsetForTimestamp(1_000 + (i * 10) + 1));
        }
    }

    [Fact]
    public void OffsetForTimestamp_BelowLogStart_AnswersFromLogStart()
    {
        var log = _manager.GetOrCreateLog("ts", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create([100, 101, 102, 103]), 0, 0, false);
        log.HighWatermark = 4;
        log.IncrementLogStartOffset(2);

        Assert.Equal(new TimestampOffset(2, 102, 0), log.OffsetForTimestamp(0));
    }

    [Fact]
    public void MaxTimestampOffset_RecordInsideBatch_ReturnsThatRecord()
    {
        var config = TestLogs.Small with { SegmentBytes = 2 * 1024 };
        var log = _manager.GetOrCreateLog("max", 0, Guid.NewGuid(), config);
        Assert.Null(log.MaxTimestampOffset());

        for (var i = 0; i < 40; i++)
        {
            log.Append(TestBatches.Create([10, 20]), 1, 0, false);
        }

        log.Append(TestBatches.Create([30, 900, 40]), 4, 0, false); // offsets 80-82, max at 81
        for (var i = 0; i < 40; i++)
        {
            log.Append(TestBatches.Create([50, 60]), 5, 0, false);
        }

        Assert.True(log.SegmentCount > 2);
        Assert.Equal(new TimestampOffset(81, 900, 4), log.MaxTimestampOffset());
    }

    [Fact]
    public void MaxTimestampOffset_AfterReopen_UsesSealedTimeIndexes()
    {
        var config = TestLogs.Small with { SegmentBytes = 1024 };
        var logDir = _dir.Combine("reopen");
        using (var manager = TestLogs.Open(logDir, _time, config: config))
        {
            var log = manager.GetOrCreateLog("max", 0, Guid.NewGuid(), config);
            log.Append(TestBatches.Create([5, 700]), 0, 0, false);
            for (var i = 0; i < 30; i++)
            {
                log.Append(TestBatches.Create([10, 20]), 0, 0, false);
            }
        }

        using var reopened = TestLogs.Open(logDir, _time, config: config);
        Assert.True(reopened.TryGetLog("max", 0, out var again));

        Assert.Equal(new TimestampOffset(1, 700, 0), again.MaxTimestampOffset());
        Assert.Equal(new TimestampOffset(1, 700, 0), again.OffsetForTimestamp(600));
    }
}
