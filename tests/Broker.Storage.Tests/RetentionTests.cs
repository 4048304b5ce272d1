using Broker.Storage.Retention;

namespace Broker.Storage.Tests;

public sealed class RetentionPlanTests
{
    private static readonly LogConfig Config = new() { RetentionMs = 1_000, RetentionBytes = -1 };

    // Three sealed segments of 100 bytes (offsets 0-9, 10-19, 20-29) and an active one (30-39).
    private static SegmentFacts[] Segments(long t0, long t1, long t2, long t3, long activeSize = 100) =>
    [
        new(0, 10, 100, t0),
        new(10, 20, 100, t1),
        new(20, 30, 100, t2),
        new(30, 40, activeSize, t3),
    ];

    [Fact]
    public void CountToDelete_OlderThanRetentionMs_OldestUpToFirstSurvivor()
    {
        // The third segment is old too, but the second survives and ends the scan, as in Kafka.
        var count = RetentionPlan.CountToDelete(Segments(100, 9_500, 200, 9_900), 0, 40, Config, nowMs: 10_000);

        Assert.Equal(1, count);
    }

    [Fact]
    public void CountToDelete_EverythingOld_IncludesNonEmptyActiveSegment()
    {
        Assert.Equal(4, RetentionPlan.CountToDelete(Segments(1, 2, 3, 4), 0, 40, Config, 10_000));
    }

    [Fact]
    public void CountToDelete_EmptyActiveSegment_NeverDeleted()
    {
        Assert.Equal(3, RetentionPlan.CountToDelete(Segments(1, 2, 3, -1, activeSize: 0), 0, 30, Config, 10_000));
    }

    [Fact]
    public void CountToDelete_AboveHighWatermark_Kept()
    {
        Assert.Equal(1, RetentionPlan.CountToDelete(Segments(1, 2, 3, 4), 0, highWatermark: 15, Config, 10_000));
    }

    [Theory]
    [InlineData(400, 0)]
    [InlineData(300, 1)]
    [InlineData(250, 1)]
    [InlineData(200, 2)]
    [InlineData(0, 4)]
    public void CountToDelete_RetentionBytes_DropsOldestWhileRestStaysAtOrAboveLimit(long retentionBytes, int expected)
    {
        var config = new LogConfig { RetentionMs = -1, RetentionBytes = retentionBytes };

        Assert.Equal(expected, RetentionPlan.CountToDelete(Segments(1, 2, 3, 4), 0, 40, config, 10_000));
    }

    [Fact]
    public void CountToDelete_CompactOnly_OnlyLogStartBreachCounts()
    {
        var config = new LogConfig { RetentionMs = 1, RetentionBytes = 0, CleanupPolicy = "compact" };

        Assert.Equal(0, RetentionPlan.CountToDelete(Segments(1, 2, 3, 4), 0, 40, config, 10_000));
        Assert.Equal(2, RetentionPlan.CountToDelete(Segments(1, 2, 3, 4), 20, 40, config, 10_000));
    }

    [Fact]
    public void CountToDelete_InfiniteRetention_NothingGoes()
    {
        var config = new LogConfig { RetentionMs = -1, RetentionBytes = -1 };

        Assert.Equal(0, RetentionPlan.CountToDelete(Segments(1, 2, 3, 4), 0, 40, config, long.MaxValue));
    }
}

public sealed class PartitionLogRetentionTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();
    private readonly LogManager _manager;

    public PartitionLogRetentionTests()
    {
        _manager = TestLogs.Open(_dir.Path, _time);
    }

    public void Dispose()
    {
        _manager.Dispose();
        _dir.Dispose();
    }

    private PartitionLog LogWithSegments(LogConfig config, int segments)
    {
        var log = _manager.GetOrCreateLog("r", 0, Guid.NewGuid(), config);
        var batch = TestBatches.Create(10, timestamp: _time.NowMs, valueSize: 900);
        while (log.SegmentCount < segments)
        {
            log.Append(batch.ToArray(), 0, _time.NowMs, false);
        }

        log.HighWatermark = log.LogEndOffset;
        return log;
    }

    [Fact]
    public void ApplyRetention_ExpiredSegments_RemovedRenamedThenDeleted_LogStartMoves()
    {
        var config = TestLogs.Small with { SegmentBytes = 32 * 1024, RetentionMs = 60_000, FileDeleteDelayMs = 5_000 };
        var log = LogWithSegments(config, 3);
        var end = log.LogEndOffset;
        var sealedCount = log.SegmentCount - 1;
        _time.Advance(TimeSpan.FromMinutes(2));

        var removed = log.ApplyRetention(_time.NowMs);

        // Every segment was older than retention.ms: all go, and an empty active segment is rolled at the end.
        Assert.Equal(sealedCount + 1, removed);
        Assert.Equal(1, log.SegmentCount);
        Assert.Equal(end, log.LogStartOffset);
        Assert.Equal(end, log.LogEndOffset);
        Assert.NotEmpty(Directory.EnumerateFiles(log.DirectoryPath, "*.deleted"));
        Assert.True(log.Read(0, 1 << 20, end, true).OffsetOutOfRange);

        log.DeleteRetiredSegments(_time.NowMs + 4_000);
        Assert.NotEmpty(Directory.EnumerateFiles(log.DirectoryPath, "*.deleted"));
        log.DeleteRetiredSegments(_time.NowMs + 5_000);
        Assert.Empty(Directory.EnumerateFiles(log.DirectoryPath, "*.deleted"));

        log.Append(TestBatches.Create(3, timestamp: _time.NowMs), 0, _time.NowMs, false);
        Assert.Equal(end + 3, log.LogEndOffset);
    }

    [Fact]
    public void ApplyRetention_RetentionBytes_OldestSegmentsGoUntilUnderLimit()
    {
        // Segments hold three ~9 KB batches (~27 KB); five segments are ~119 KB, so a 40 KiB limit lets two go.
        var config = TestLogs.Small with { SegmentBytes = 32 * 1024, RetentionMs = -1, RetentionBytes = 40 * 1024 };
        var log = LogWithSegments(config, 5);
        var before = log.SizeInBytes;

        var removed = log.ApplyRetention(_time.NowMs);

        Assert.True(removed >= 2, $"removed {removed}");
        Assert.True(log.SizeInBytes >= config.RetentionBytes, "retention must never cut below retention.bytes");
        Assert.True(log.SizeInBytes < before);
        Assert.True(log.LogStartOffset > 0);
        var read = log.Read(log.LogStartOffset, 1 << 20, log.HighWatermark, true);
        Assert.False(read.OffsetOutOfRange);
        Assert.True(read.Length > 0);
    }

    [Fact]
    public void ApplyRetention_NothingDue_KeepsEverything()
    {
        var config = TestLogs.Small with { SegmentBytes = 32 * 1024, RetentionMs = 3_600_000 };
        var log = LogWithSegments(config, 3);

        Assert.Equal(0, log.ApplyRetention(_time.NowMs));
        Assert.Equal(0, log.LogStartOffset);
    }

    [Fact]
    public void ApplyRetention_ThenCrashAndReopen_LogStartAndDataKept()
    {
        var config = TestLogs.Small with { SegmentBytes = 32 * 1024, RetentionMs = -1, RetentionBytes = 64 * 1024, FileDeleteDelayMs = 60_000 };
        var log = LogWithSegments(config, 5);
        var topicId = log.TopicId;
        log.ApplyRetention(_time.NowMs);
        var start = log.LogStartOffset;
        var end = log.LogEndOffset;
        _manager.Checkpoint();

        TestLogs.Crash(_manager);
        using var reopened = TestLogs.Open(_dir.Path, _time);
        var again = reopened.GetOrCreateLog("r", 0, topicId, config);

        Assert.Equal(start, again.LogStartOffset);
        Assert.Equal(end, again.LogEndOffset);
        Assert.Empty(Directory.EnumerateFiles(again.DirectoryPath, "*.deleted"));
    }

    [Fact]
    public void LogManagerApplyRetention_AllLogs()
    {
        var config = TestLogs.Small with { SegmentBytes = 32 * 1024, RetentionMs = 1_000 };
        LogWithSegments(config, 3);
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.True(_manager.ApplyRetention(_time.NowMs) >= 3);
    }
}
