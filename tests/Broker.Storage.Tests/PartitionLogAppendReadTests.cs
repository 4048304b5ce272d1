using System.Buffers;
using Broker.Protocol.Records;

namespace Broker.Storage.Tests;

public sealed class PartitionLogAppendReadTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();
    private readonly LogManager _manager;

    public PartitionLogAppendReadTests()
    {
        _manager = TestLogs.Open(_dir.Path, _time);
    }

    public void Dispose()
    {
        _manager.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Append_SingleBatch_AssignsOffsetsAndRoundTrips()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        var batch = TestBatches.Create(3);

        var first = log.Append(batch, leaderEpoch: 5, _time.NowMs, logAppendTime: false);
        var second = log.Append(TestBatches.Create(2), leaderEpoch: 5, _time.NowMs, logAppendTime: false);

        Assert.Equal(new AppendResult(0, 2, -1, 0), first);
        Assert.Equal(new AppendResult(3, 4, -1, 0), second);
        Assert.Equal(5, log.LogEndOffset);
        var read = log.Read(0, 1 << 20, log.LogEndOffset, minOneBatch: false);
        Assert.Equal(LogReadError.None, read.Error);
        var bytes = TestBatches.ReadAll(read);
        Assert.Equal(batch, bytes[..batch.Length]); // the appended buffer was rewritten in place and written as is
        Assert.Equal([(0L, 2L), (3L, 4L)], TestBatches.Parse(bytes));
        Assert.Equal(5, RecordBatchHeader.PartitionLeaderEpoch(bytes));
    }

    [Fact]
    public void Append_MultipleBatchesInOneCall_AssignsConsecutiveOffsets()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create(1), 0, _time.NowMs, false);

        var result = log.Append(TestBatches.Concat(TestBatches.Create(2), TestBatches.Create(4), TestBatches.Create(1)), 0, _time.NowMs, false);

        Assert.Equal(1, result.FirstOffset);
        Assert.Equal(7, result.LastOffset);
        var bytes = TestBatches.ReadAll(log.Read(0, 1 << 20, log.LogEndOffset, false));
        Assert.Equal([(0L, 0L), (1L, 2L), (3L, 6L), (7L, 7L)], TestBatches.Parse(bytes));
    }

    [Fact]
    public void Append_LogAppendTime_StampsBrokerTimeAndKeepsCrcValid()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);

        var result = log.Append(TestBatches.Concat(TestBatches.Create(2, timestamp: 5), TestBatches.Create(1, timestamp: 6)), 0, 123_456, logAppendTime: true);

        Assert.Equal(123_456, result.LogAppendTimeMs);
        var bytes = TestBatches.ReadAll(log.Read(0, 1 << 20, log.LogEndOffset, false));
        Assert.Equal(2, TestBatches.Parse(bytes).Count); // Parse checks every CRC
        Assert.True(RecordBatchHeader.IsLogAppendTime(bytes));
        Assert.Equal(123_456, RecordBatchHeader.MaxTimestamp(bytes));
    }

    [Fact]
    public void Append_NotWholeBatches_Throws()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        var batch = TestBatches.Create(2);

        Assert.Throws<ArgumentException>(() => log.Append(batch.AsMemory(0, batch.Length - 1), 0, 0, false));
        Assert.Throws<ArgumentException>(() => log.Append(Memory<byte>.Empty, 0, 0, false));
        Assert.Equal(0, log.LogEndOffset);
    }

    [Fact]
    public void Read_MaxBytesSmallerThanFirstBatch_MinOneBatchDecides()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        var batch = TestBatches.Create(3);
        log.Append(batch, 0, 0, false);
        log.Append(TestBatches.Create(3), 0, 0, false);

        var without = log.Read(0, 10, log.LogEndOffset, minOneBatch: false);
        var with = log.Read(0, 10, log.LogEndOffset, minOneBatch: true);

        Assert.Equal(LogReadError.None, without.Error);
        Assert.True(without.IsEmpty);
        Assert.Equal(batch.Length, with.Length);
        Assert.Equal([(0L, 2L)], TestBatches.Parse(TestBatches.ReadAll(with)));
    }

    [Fact]
    public void Read_MaxBytesBetweenBatchBoundaries_ReturnsWholeBatchesOnly()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        var size = TestBatches.Create(1).Length;
        for (var i = 0; i < 3; i++)
        {
            log.Append(TestBatches.Create(1), 0, 0, false);
        }

        var read = log.Read(0, (2 * size) + (size / 2), log.LogEndOffset, minOneBatch: true);

        Assert.Equal(2 * size, read.Length);
        Assert.Equal([(0L, 0L), (1L, 1L)], TestBatches.Parse(TestBatches.ReadAll(read)));
    }

    [Fact]
    public void Read_OffsetInsideBatch_StartsAtContainingBatch()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create(5), 0, 0, false);
        log.Append(TestBatches.Create(5), 0, 0, false);

        var read = log.Read(7, 1 << 20, log.LogEndOffset, false);

        Assert.Equal([(5L, 9L)], TestBatches.Parse(TestBatches.ReadAll(read)));
    }

    [Fact]
    public void Read_MaxOffsetExclusive_OmitsBatchesReachingIt()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create(2), 0, 0, false);
        log.Append(TestBatches.Create(2), 0, 0, false);
        log.Append(TestBatches.Create(2), 0, 0, false);

        var upToHighWatermark = log.Read(0, 1 << 20, maxOffsetExclusive: 4, minOneBatch: true);
        var highWatermarkMidBatch = log.Read(0, 1 << 20, maxOffsetExclusive: 3, minOneBatch: true);
        var atHighWatermark = log.Read(4, 1 << 20, maxOffsetExclusive: 4, minOneBatch: true);

        Assert.Equal([(0L, 1L), (2L, 3L)], TestBatches.Parse(TestBatches.ReadAll(upToHighWatermark)));
        Assert.Equal([(0L, 1L)], TestBatches.Parse(TestBatches.ReadAll(highWatermarkMidBatch)));
        Assert.True(atHighWatermark.IsEmpty);
        Assert.Equal(LogReadError.None, atHighWatermark.Error);
    }

    [Fact]
    public void Read_AtLogEndOffset_ReturnsEmptyWithoutError()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create(2), 0, 0, false);

        var read = log.Read(2, 1 << 20, long.MaxValue, true);

        Assert.Equal(LogReadError.None, read.Error);
        Assert.True(read.IsEmpty);
        Assert.Equal(2, read.LogEndOffset);
        Assert.Equal(0, read.CopyTo(Span<byte>.Empty));
    }

    [Fact]
    public void Read_OutsideLog_ReportsOffsetOutOfRange()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create(4), 0, 0, false);
        log.HighWatermark = log.LogEndOffset;
        log.IncrementLogStartOffset(2);

        Assert.Equal(LogReadError.OffsetOutOfRange, log.Read(5, 100, long.MaxValue, true).Error);
        Assert.Equal(LogReadError.OffsetOutOfRange, log.Read(1, 100, long.MaxValue, true).Error);
        Assert.Equal(LogReadError.None, log.Read(2, 1 << 20, long.MaxValue, true).Error);
        Assert.Equal(2, log.LogStartOffset);
    }

    [Fact]
    public void CopyTo_BufferWriter_MatchesSpanCopy()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        for (var i = 0; i < 50; i++)
        {
            log.Append(TestBatches.Create(3, valueSize: 100), 0, 0, false);
        }

        var read = log.Read(0, 1 << 20, log.LogEndOffset, true);
        var writer = new ArrayBufferWriter<byte>();

        Assert.Equal(read.Length, read.CopyTo(writer));
        Assert.Equal(TestBatches.ReadAll(read), writer.WrittenSpan.ToArray());
        Assert.Equal(50, TestBatches.Parse(writer.WrittenSpan).Count);
    }

    [Fact]
    public void HighWatermark_Set_CapsAtLogEndAndNeverMovesBack()
    {
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), TestLogs.Small);
        log.Append(TestBatches.Create(4), 0, 0, false);

        log.HighWatermark = 100;
        var capped = log.HighWatermark;
        log.HighWatermark = 1;

        Assert.Equal(4, capped);
        Assert.Equal(4, log.HighWatermark);
    }

    [Fact]
    public void Flush_FlushMessagesReached_AdvancesRecoveryPointOnAppend()
    {
        var config = TestLogs.Small with { FlushMessages = 3 };
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), config);

        log.Append(TestBatches.Create(2), 0, 0, false);
        var before = log.RecoveryPoint;
        log.Append(TestBatches.Create(1), 0, 0, false);

        Assert.Equal(0, before);
        Assert.Equal(3, log.RecoveryPoint);
    }

    [Fact]
    public void MaybeFlush_FlushMsElapsed_Flushes()
    {
        var config = TestLogs.Small with { FlushMs = 1_000 };
        var log = _manager.GetOrCreateLog("t", 0, Guid.NewGuid(), config);
        log.Append(TestBatches.Create(2), 0, 0, false);

        var early = log.MaybeFlush(_time.NowMs + 999);
        var due = log.MaybeFlush(_time.NowMs + 1_000);

        Assert.False(early);
        Assert.True(due);
        Assert.Equal(2, log.RecoveryPoint);
    }
}
