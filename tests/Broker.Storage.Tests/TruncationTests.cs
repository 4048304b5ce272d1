using System.Buffers.Binary;
using Broker.Protocol;
using Broker.Protocol.Records;

namespace Broker.Storage.Tests;

/// <summary>Follower appends (leader's offsets and epochs kept) and log truncation, including across segments and restarts.</summary>
public sealed class TruncationTests : IDisposable
{
    private static readonly Guid TopicId = new("6b1d4a2f-3c5e-4d7f-9a21-2b3c4d5e6f70");

    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A batch as a leader would send it: base offset and leader epoch already set.</summary>
    private static byte[] LeaderBatch(long baseOffset, int epoch, int count = 3, int valueSize = 10, byte[]? source = null)
    {
        var batch = source ?? TestBatches.Create(count, valueSize: valueSize);
        BinaryPrimitives.WriteInt64BigEndian(batch, baseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatchHeader.PartitionLeaderEpochOffset), epoch);
        RecordBatchHeader.UpdateCrc(batch);
        return batch;
    }

    private static List<(long Base, long Last)> AllBatches(PartitionLog log)
    {
        var result = new List<(long, long)>();
        var offset = log.LogStartOffset;
        while (offset < log.LogEndOffset)
        {
            var read = Batches(log, offset);
            if (read.Count == 0)
            {
                break;
            }

            result.AddRange(read);
            offset = read[^1].Last + 1;
        }

        return result;
    }

    private static List<(long Base, long Last)> Batches(PartitionLog log, long from) =>
        TestBatches.Parse(TestBatches.ReadAll(log.Read(from, 1 << 24, log.LogEndOffset, true)));

    [Fact]
    public void AppendAsFollower_KeepsOffsetsAndEpochs_AndRefusesOffsetsBelowTheEnd()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("f", 0, TopicId, TestLogs.Small);

        log.AppendAsFollower(TestBatches.Concat(LeaderBatch(0, 1), LeaderBatch(3, 1)), _time.NowMs);
        var gap = log.AppendAsFollower(LeaderBatch(10, 4), _time.NowMs);

        Assert.Equal(10, gap.FirstOffset);
        Assert.Equal(13, log.LogEndOffset);
        Assert.Equal([(0L, 2L), (3L, 5L), (10L, 12L)], AllBatches(log));
        Assert.Equal([new(1, 0), new(4, 10)], log.LeaderEpochs.Entries);

        var e = Assert.Throws<ArgumentException>(() => log.AppendAsFollower(LeaderBatch(12, 4), _time.NowMs));
        Assert.Contains("does not follow offset 12", e.Message, StringComparison.Ordinal);
        Assert.Equal(13, log.LogEndOffset);
    }

    [Fact]
    public void TruncateTo_InsideTheActiveSegment_RemovesWholeBatchesAndAppendsContinue()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("t", 0, TopicId, TestLogs.Small);
        for (var i = 0; i < 5; i++)
        {
            log.AppendAsFollower(LeaderBatch(i * 3, i < 3 ? 1 : 2), _time.NowMs);
        }

        log.HighWatermark = 15;

        var end = log.TruncateTo(10); // inside the batch 9..11: the whole batch goes

        Assert.Equal(9, end);
        Assert.Equal(9, log.LogEndOffset);
        Assert.Equal(9, log.HighWatermark);
        Assert.Equal([(0L, 2L), (3L, 5L), (6L, 8L)], AllBatches(log));
        Assert.Equal([new(1, 0)], log.LeaderEpochs.Entries);

        log.AppendAsFollower(LeaderBatch(9, 3), _time.NowMs);
        Assert.Equal([(0L, 2L), (3L, 5L), (6L, 8L), (9L, 11L)], AllBatches(log));
        Assert.Equal([new(1, 0), new(3, 9)], log.LeaderEpochs.Entries);
        Assert.Equal(log.LogEndOffset, log.TruncateTo(100));
    }

    [Fact]
    public void TruncateTo_AcrossSegments_LaterSegmentsLeaveAndTheLogSurvivesCleanAndUncleanRestarts()
    {
        string directory;
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("t", 0, TopicId, TestLogs.Small);
            long offset = 0;
            while (log.SegmentCount < 4)
            {
                log.AppendAsFollower(LeaderBatch(offset, offset < 200 ? 1 : 2, count: 10, valueSize: 200), _time.NowMs);
                offset += 10;
            }

            var bases = log.SegmentBaseOffsets();
            var target = bases[1] + 20;
            Assert.True(target < bases[2]);

            log.TruncateTo(target);

            Assert.Equal(target, log.LogEndOffset);
            Assert.Equal(2, log.SegmentCount);
            Assert.Equal(target / 10, AllBatches(log).Count);
            log.DeleteRetiredSegments(_time.NowMs, all: true);
            directory = log.DirectoryPath;
            Assert.Equal(2, Directory.GetFiles(directory, "*.log").Length);

            // Appends continue after the cut and roll again as usual.
            for (var o = target; log.SegmentCount < 3; o += 10)
            {
                log.AppendAsFollower(LeaderBatch(o, 5, count: 10, valueSize: 200), _time.NowMs);
            }
        }

        long endAfterClean;
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            Assert.True(manager.TryGetLog("t", 0, out var log));
            endAfterClean = log.LogEndOffset;
            var batches = AllBatches(log);
            Assert.Equal(endAfterClean / 10, batches.Count);
            Assert.Equal(5, log.LeaderEpochs.LatestEpoch);

            // Cut again, then crash: recovery must not bring the cut batches back.
            log.TruncateTo(endAfterClean - 30);
            TestLogs.Crash(manager);
        }

        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            Assert.True(manager.TryGetLog("t", 0, out var log));
            Assert.Equal(endAfterClean - 30, log.LogEndOffset);
            Assert.Equal((endAfterClean - 30) / 10, AllBatches(log).Count);
        }
    }

    [Fact]
    public void TruncateTo_RebuildsProducerState_SoTheProducerContinuesFromWhatRemains()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("t", 0, TopicId, TestLogs.Small);
        for (var i = 0; i < 4; i++)
        {
            log.AppendAsFollower(LeaderBatch(i * 2, 1, source: TestBatches.Idempotent(9, 0, i * 2, count: 2)), _time.NowMs);
        }

        log.TruncateTo(4);

        // Sequence 4 was cut away, so the producer's next batch is sequence 4 again, not 8.
        var next = log.Append(TestBatches.Idempotent(9, 0, 4, count: 2), 2, _time.NowMs, false, AppendOrigin.Client);
        Assert.Equal(ErrorCode.None, next.Error);
        Assert.False(next.Duplicate);
        Assert.Equal(4, next.FirstOffset);
        var gap = log.Append(TestBatches.Idempotent(9, 0, 8, count: 2), 2, _time.NowMs, false, AppendOrigin.Client);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, gap.Error);
    }

    [Fact]
    public void TruncateTo_BelowTheLogStart_Refused()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("t", 0, TopicId, TestLogs.Small);
        log.Append(TestBatches.Create(5), 0, _time.NowMs, false);
        log.Append(TestBatches.Create(5), 0, _time.NowMs, false);
        log.HighWatermark = log.LogEndOffset;
        log.DeleteRecordsBefore(5, _time.NowMs);

        Assert.Throws<ArgumentOutOfRangeException>(() => log.TruncateTo(3));
        Assert.Equal(10, log.LogEndOffset);
    }

    [Fact]
    public void TruncateFullyAndStartAt_AboveTheLogEnd_LogRestartsEmptyThereDurablyAndSurvivesARestart()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("full", 0, TopicId, TestLogs.Small);
            for (var i = 0; i < 6; i++)
            {
                log.AppendAsFollower(LeaderBatch(i * 3, 1), _time.NowMs);
            }

            log.HighWatermark = 18;
            log.Flush();

            log.TruncateFullyAndStartAt(50);

            Assert.Equal((50L, 50L, 50L, 50L), (log.LogStartOffset, log.LogEndOffset, log.HighWatermark, log.RecoveryPoint));
            Assert.Equal(1, log.SegmentCount);
            Assert.Empty(log.LeaderEpochs.Entries);
            Assert.Empty(AllBatches(log));
            log.AppendAsFollower(LeaderBatch(50, 3), _time.NowMs);
            log.Flush();
            Assert.Equal([(50L, 52L)], AllBatches(log));
            Assert.Equal([new(3, 50)], log.LeaderEpochs.Entries);
        }

        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            Assert.True(manager.TryGetLog("full", 0, out var log));
            Assert.Equal((50L, 53L), (log.LogStartOffset, log.LogEndOffset));
            Assert.Equal([(50L, 52L)], AllBatches(log));
            Assert.Equal([new(3, 50)], log.LeaderEpochs.Entries);
            Assert.Equal(3, log.LeaderEpochs.LatestEpoch);
        }
    }
}
