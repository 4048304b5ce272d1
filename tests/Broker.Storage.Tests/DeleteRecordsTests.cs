using Broker.Storage.Checkpoints;
using Broker.Storage.FileSystem;

namespace Broker.Storage.Tests;

/// <summary>DeleteRecords at the storage level: the log start moves, whole segments below it go, the checkpoint keeps it.</summary>
public sealed class DeleteRecordsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();
    private LogManager _manager;

    public DeleteRecordsTests()
    {
        _manager = TestLogs.Open(_dir.Path, _time);
    }

    public void Dispose()
    {
        _manager.Dispose();
        _dir.Dispose();
    }

    private PartitionLog LogWithSegments(int segments)
    {
        var config = TestLogs.Small with { SegmentBytes = 32 * 1024, RetentionMs = -1 };
        var log = _manager.GetOrCreateLog("d", 0, Guid.NewGuid(), config);
        var batch = TestBatches.Create(10, timestamp: _time.NowMs, valueSize: 900);
        while (log.SegmentCount < segments)
        {
            log.Append(batch.ToArray(), 0, _time.NowMs, false);
        }

        log.HighWatermark = log.LogEndOffset;
        return log;
    }

    [Fact]
    public void DeleteRecordsBefore_MidSecondSegment_FirstSegmentGoesAndStartIsExact()
    {
        var log = LogWithSegments(4);
        var before = log.SegmentCount;
        var target = log.LogEndOffset / 2 + 3;

        var start = log.DeleteRecordsBefore(target, _time.NowMs);

        Assert.Equal(target, start);
        Assert.Equal(target, log.LogStartOffset);
        Assert.True(log.SegmentCount < before, "segments wholly below the new start must go");
        Assert.True(log.Read(target - 1, 1 << 20, log.HighWatermark, true).OffsetOutOfRange);
        Assert.False(log.Read(target, 1 << 20, log.HighWatermark, true).OffsetOutOfRange);
    }

    [Fact]
    public void DeleteRecordsBefore_HighWatermark_EverythingGoesEmptyActiveRemains()
    {
        var log = LogWithSegments(3);
        var end = log.LogEndOffset;

        Assert.Equal(end, log.DeleteRecordsBefore(end, _time.NowMs));

        Assert.Equal(1, log.SegmentCount);
        Assert.Equal(0, log.SizeInBytes);
        Assert.Equal(end, log.LogEndOffset);
    }

    [Fact]
    public void DeleteRecordsBefore_AboveHighWatermark_Throws()
    {
        var log = LogWithSegments(2);
        var highWatermark = log.HighWatermark;
        log.Append(TestBatches.Create(5, timestamp: _time.NowMs), 0, _time.NowMs, false);

        Assert.Throws<ArgumentOutOfRangeException>(() => log.DeleteRecordsBefore(highWatermark + 1, _time.NowMs));
        Assert.Equal(0, log.LogStartOffset);
    }

    [Fact]
    public void DeleteRecordsBefore_ThenCheckpoint_StartSurvivesReopen()
    {
        var log = LogWithSegments(3);
        var target = log.LogEndOffset - 7;
        log.DeleteRecordsBefore(target, _time.NowMs);

        _manager.Checkpoint();

        Assert.True(OffsetCheckpointFile.TryRead(Path.Combine(_dir.Path, LogFileNames.LogStartOffsetCheckpoint), out var entries, out _));
        Assert.Equal(target, entries[("d", 0)]);
        _manager.Dispose();
        _manager = TestLogs.Open(_dir.Path, _time);
        Assert.True(_manager.TryGetLog("d", 0, out var reopened));
        Assert.Equal(target, reopened.LogStartOffset);
    }
}
