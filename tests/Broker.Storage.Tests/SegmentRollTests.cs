using System.Buffers.Binary;

namespace Broker.Storage.Tests;

public sealed class SegmentRollTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();
    private readonly LogManager _manager;

    public SegmentRollTests()
    {
        _manager = TestLogs.Open(_dir.Path, _time);
    }

    public void Dispose()
    {
        _manager.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Append_SegmentBytesExceeded_RollsWithTwentyDigitNames()
    {
        var batch = TestBatches.Create(2, valueSize: 100);
        var config = TestLogs.Small with { SegmentBytes = batch.Length * 3 };
        var log = _manager.GetOrCreateLog("roll", 0, Guid.NewGuid(), config);

        for (var i = 0; i < 7; i++)
        {
            log.Append(TestBatches.Create(2, valueSize: 100), 0, _time.NowMs, false);
        }

        Assert.Equal([0L, 6L, 12L], log.SegmentBaseOffsets());
        var logFiles = Directory.GetFiles(log.DirectoryPath, "*.log").Select(f => Path.GetFileName(f)!).Order().ToArray();
        Assert.Equal(["00000000000000000000.log", "00000000000000000006.log", "00000000000000000012.log"], logFiles);
        Assert.Equal(batch.Length * 3, new FileInfo(Path.Combine(log.DirectoryPath, "00000000000000000000.log")).Length);
        Assert.True(File.Exists(Path.Combine(log.DirectoryPath, "00000000000000000012.timeindex")));
    }

    [Fact]
    public void Roll_SealedSegment_IndexesTrimmedAndActivePreallocated()
    {
        var config = TestLogs.Small with { SegmentBytes = 8 * 1024, IndexIntervalBytes = 100 };
        var log = _manager.GetOrCreateLog("trim", 0, Guid.NewGuid(), config);

        while (log.SegmentCount < 2)
        {
            log.Append(TestBatches.Create(2, valueSize: 50), 0, _time.NowMs, false);
        }

        var sealedIndex = new FileInfo(Path.Combine(log.DirectoryPath, "00000000000000000000.index")).Length;
        var sealedTimeIndex = new FileInfo(Path.Combine(log.DirectoryPath, "00000000000000000000.timeindex")).Length;
        var active = log.SegmentBaseOffsets()[1].ToString("D20", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(sealedIndex > 0);
        Assert.Equal(0, sealedIndex % 8);
        Assert.True(sealedIndex < config.SegmentIndexBytes);
        Assert.Equal(0, sealedTimeIndex % 12);
        Assert.Equal(12, sealedTimeIndex); // every batch has the same timestamp: a single entry
        Assert.Equal(config.SegmentIndexBytes / 8 * 8, new FileInfo(Path.Combine(log.DirectoryPath, active + ".index")).Length);
        Assert.Equal(config.SegmentIndexBytes / 12 * 12, new FileInfo(Path.Combine(log.DirectoryPath, active + ".timeindex")).Length);

        // Every sealed entry points at a batch start whose last offset is the entry's offset.
        var entries = File.ReadAllBytes(Path.Combine(log.DirectoryPath, "00000000000000000000.index"));
        var segment = File.ReadAllBytes(Path.Combine(log.DirectoryPath, "00000000000000000000.log"));
        var previous = 0;
        for (var i = 0; i < entries.Length; i += 8)
        {
            var relative = BinaryPrimitives.ReadInt32BigEndian(entries.AsSpan(i));
            var position = BinaryPrimitives.ReadInt32BigEndian(entries.AsSpan(i + 4));
            Assert.True(relative > previous);
            Assert.Equal(relative, Protocol.Records.RecordBatchHeader.LastOffset(segment.AsSpan(position)));
            previous = relative;
        }
    }

    [Fact]
    public void Append_SegmentMsElapsedByRecordTimestamps_Rolls()
    {
        var config = TestLogs.Small with { SegmentMs = 1_000 };
        var log = _manager.GetOrCreateLog("time", 0, Guid.NewGuid(), config);

        log.Append(TestBatches.Create(1, timestamp: 10_000), 0, _time.NowMs, false);
        log.Append(TestBatches.Create(1, timestamp: 11_000), 0, _time.NowMs, false);
        var beforeRoll = log.SegmentCount;
        log.Append(TestBatches.Create(1, timestamp: 11_001), 0, _time.NowMs, false);

        Assert.Equal(1, beforeRoll);
        Assert.Equal([0L, 2L], log.SegmentBaseOffsets());
    }

    [Fact]
    public void Append_SegmentMsElapsedOnClockWithoutTimestamps_Rolls()
    {
        var config = TestLogs.Small with { SegmentMs = 1_000 };
        var log = _manager.GetOrCreateLog("clock", 0, Guid.NewGuid(), config);

        log.Append(TestBatches.Create(1, timestamp: -1), 0, _time.NowMs, false);
        _time.Advance(TimeSpan.FromMilliseconds(1_000));
        log.Append(TestBatches.Create(1, timestamp: -1), 0, _time.NowMs, false);
        var beforeRoll = log.SegmentCount;
        _time.Advance(TimeSpan.FromMilliseconds(1));
        log.Append(TestBatches.Create(1, timestamp: -1), 0, _time.NowMs, false);

        Assert.Equal(1, beforeRoll);
        Assert.Equal([0L, 2L], log.SegmentBaseOffsets());
    }

    [Fact]
    public void Append_LogAppendTimeAcrossSegmentMs_Rolls()
    {
        var config = TestLogs.Small with { SegmentMs = 1_000 };
        var log = _manager.GetOrCreateLog("lat", 0, Guid.NewGuid(), config);

        log.Append(TestBatches.Create(1), 0, _time.NowMs, logAppendTime: true);
        _time.Advance(TimeSpan.FromSeconds(2));
        log.Append(TestBatches.Create(1), 0, _time.NowMs, logAppendTime: true);

        Assert.Equal([0L, 1L], log.SegmentBaseOffsets());
    }

    [Fact]
    public void Append_OffsetIndexFull_Rolls()
    {
        // Room for 2 offset entries (and 2 time entries, one reserved for sealing).
        var config = TestLogs.Small with { SegmentIndexBytes = 24, IndexIntervalBytes = 0 };
        var log = _manager.GetOrCreateLog("full", 0, Guid.NewGuid(), config);

        for (var i = 0; i < 6; i++)
        {
            log.Append(TestBatches.Create(1), 0, _time.NowMs, false);
        }

        Assert.True(log.SegmentCount > 1);
        for (var offset = 0; offset < 6; offset++)
        {
            Assert.Equal([(offset, (long)offset)], TestBatches.Parse(TestBatches.ReadAll(log.Read(offset, 1, 6, true))));
        }
    }

    [Fact]
    public void Read_ManyAppendsAcrossSegments_EveryOffsetFoundThroughIndex()
    {
        var config = TestLogs.Small with { SegmentBytes = 16 * 1024, IndexIntervalBytes = 200 };
        var log = _manager.GetOrCreateLog("many", 0, Guid.NewGuid(), config);
        var random = new Random(42);
        var expected = new List<(long Base, long Last)>();
        for (var i = 0; i < 600; i++)
        {
            var count = random.Next(1, 6);
            var result = log.Append(TestBatches.Create(count, valueSize: random.Next(1, 80)), 0, _time.NowMs, false);
            expected.Add((result.FirstOffset, result.LastOffset));
        }

        Assert.True(log.SegmentCount > 3);
        foreach (var (first, last) in expected)
        {
            for (var offset = first; offset <= last; offset++)
            {
                var batches = TestBatches.Parse(TestBatches.ReadAll(log.Read(offset, 1, log.LogEndOffset, minOneBatch: true)));
                Assert.Equal([(first, last)], batches);
            }
        }

        // Large reads return contiguous whole batches from one segment, in order.
        var position = 0L;
        var seen = new List<(long, long)>();
        while (position < log.LogEndOffset)
        {
            var batches = TestBatches.Parse(TestBatches.ReadAll(log.Read(position, 3_000, log.LogEndOffset, true)));
            Assert.NotEmpty(batches);
            seen.AddRange(batches);
            position = batches[^1].Last + 1;
        }

        Assert.Equal(expected.Select(e => (e.Base, e.Last)), seen);
    }
}
