using System.Buffers.Binary;
using Broker.Protocol;
using Broker.Protocol.Records;
using Broker.Storage.Producers;

namespace Broker.Storage.Tests;

/// <summary>Idempotent producers: sequence and epoch checks, duplicates, snapshots and the rebuild after a crash.</summary>
public sealed class ProducerStateTests : IDisposable
{
    private static readonly Guid TopicId = new("0b7d3a52-7c1e-4b8e-9a55-0c2b3a9f1d42");

    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    private AppendResult AppendClient(PartitionLog log, byte[] batch) => log.Append(batch, 0, _time.NowMs, false, AppendOrigin.Client);

    [Fact]
    public void Append_RetryOfAnyOfLastFiveBatches_ReturnsOriginalOffsetsAndWritesNothing()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
        var firstOffsets = new long[5];
        for (var i = 0; i < 5; i++)
        {
            var appended = AppendClient(log, TestBatches.Idempotent(7, 0, i * 3, count: 3));
            Assert.Equal(ErrorCode.None, appended.Error);
            Assert.False(appended.Duplicate);
            firstOffsets[i] = appended.FirstOffset;
        }

        var end = log.LogEndOffset;
        for (var i = 0; i < 5; i++)
        {
            var retry = AppendClient(log, TestBatches.Idempotent(7, 0, i * 3, count: 3));
            Assert.True(retry.Duplicate);
            Assert.Equal(ErrorCode.None, retry.Error);
            Assert.Equal(firstOffsets[i], retry.FirstOffset);
            Assert.Equal(firstOffsets[i] + 2, retry.LastOffset);
        }

        Assert.Equal(end, log.LogEndOffset);
        Assert.Equal(15, end);
    }

    [Fact]
    public void Append_SequenceGapOrReplayOlderThanFiveBatches_OutOfOrderSequence()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(7, 0, i)).Error);
        }

        var gap = AppendClient(log, TestBatches.Idempotent(7, 0, 7));
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, gap.Error);
        Assert.Equal("Out of order sequence number for producer 7 at offset 6 in partition p-0: 7 (incoming seq. number), 5 (current end sequence number)", gap.ErrorMessage);

        // Sequence 0 was the sixth batch back: no longer remembered, so it is not a duplicate but out of order.
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, AppendClient(log, TestBatches.Idempotent(7, 0, 0)).Error);
        Assert.Equal(6, log.LogEndOffset);
        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(7, 0, 6)).Error);
    }

    [Fact]
    public void Append_OlderEpoch_InvalidProducerEpoch_NewEpochMustStartAtZero()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(9, 3, 0)).Error);

        var fenced = AppendClient(log, TestBatches.Idempotent(9, 2, 1));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, fenced.Error);
        Assert.Equal("Epoch of producer 9 at offset 1 in p-0 is 2, which is smaller than the last seen epoch 3", fenced.ErrorMessage);

        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, AppendClient(log, TestBatches.Idempotent(9, 4, 5)).Error);
        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(9, 4, 0)).Error);

        // The new epoch forgot the old epoch's batches: a retry from epoch 3 is fenced, not a duplicate.
        Assert.Equal(ErrorCode.InvalidProducerEpoch, AppendClient(log, TestBatches.Idempotent(9, 3, 0)).Error);
        Assert.Equal(2, log.LogEndOffset);
    }

    [Fact]
    public void Append_UnknownProducerAnySequence_AcceptedAsKafkaDoes()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);

        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(11, 0, 42, count: 2)).Error);
        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(11, 0, 44)).Error);
        var producer = Assert.Single(log.ActiveProducers());
        Assert.Equal(new ActiveProducer(11, 0, 44, 1_000, -1, -1), producer);
    }

    [Fact]
    public void Append_SequenceWrapsAtIntMax_NextBatchStartsAtZero()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(5, 0, int.MaxValue - 1, count: 2)).Error);
        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(5, 0, 0, count: 2)).Error);
        Assert.True(AppendClient(log, TestBatches.Idempotent(5, 0, int.MaxValue - 1, count: 2)).Duplicate);
    }

    [Fact]
    public void Append_ReplicationOrigin_UpdatesStateWithoutChecks()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
        log.Append(TestBatches.Idempotent(3, 0, 0), 0, _time.NowMs, false);
        log.Append(TestBatches.Idempotent(3, 0, 0), 0, _time.NowMs, false);

        Assert.Equal(2, log.LogEndOffset);
        Assert.True(AppendClient(log, TestBatches.Idempotent(3, 0, 0)).Duplicate);
    }

    [Fact]
    public void Open_AfterCleanClose_LoadsSnapshotAtLogEndAndStillDeduplicates()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
            for (var i = 0; i < 5; i++)
            {
                AppendClient(log, TestBatches.Idempotent(21, 1, i * 2, count: 2));
            }
        }

        Assert.True(File.Exists(Path.Combine(_dir.Path, "p-0", "00000000000000000010.snapshot")));
        using var reopened = TestLogs.Open(_dir.Path, _time);
        Assert.True(reopened.TryGetLog("p", 0, out var again));
        for (var i = 0; i < 5; i++)
        {
            var retry = AppendClient(again, TestBatches.Idempotent(21, 1, i * 2, count: 2));
            Assert.True(retry.Duplicate);
            Assert.Equal(i * 2L, retry.FirstOffset);
        }

        Assert.Equal(ErrorCode.None, AppendClient(again, TestBatches.Idempotent(21, 1, 10)).Error);
        Assert.Equal(11, again.LogEndOffset);
    }

    [Fact]
    public void Open_AfterCrashWithoutSnapshot_ReplaysLogAndDeduplicates()
    {
        var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
        AppendClient(log, TestBatches.Create(4));
        for (var i = 0; i < 3; i++)
        {
            AppendClient(log, TestBatches.Idempotent(31, 0, i));
        }

        log.Flush();
        TestLogs.Crash(manager);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir.Path, "p-0"), "*.snapshot"));

        using var reopened = TestLogs.Open(_dir.Path, _time);
        Assert.True(reopened.TryGetLog("p", 0, out var again));
        var retry = AppendClient(again, TestBatches.Idempotent(31, 0, 2));
        Assert.True(retry.Duplicate);
        Assert.Equal(6, retry.FirstOffset);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, AppendClient(again, TestBatches.Idempotent(31, 0, 4)).Error);
        Assert.Equal(ErrorCode.None, AppendClient(again, TestBatches.Idempotent(31, 0, 3)).Error);
    }

    [Fact]
    public void Roll_WritesSnapshotAtNewBaseOffset_CrashReplaysOnlyAfterIt()
    {
        var config = TestLogs.Small with { SegmentBytes = 200 };
        var manager = TestLogs.Open(_dir.Path, _time, config: config);
        var log = manager.GetOrCreateLog("p", 0, TopicId, config);
        for (var i = 0; i < 6; i++)
        {
            AppendClient(log, TestBatches.Idempotent(41, 0, i, timestamp: 1_000 + i));
        }

        Assert.True(log.SegmentCount > 1);
        log.Flush();
        var snapshots = WaitForSnapshots(log, log.SegmentBaseOffsets()[1..]);
        TestLogs.Crash(manager);

        using var reopened = TestLogs.Open(_dir.Path, _time, config: config);
        Assert.True(reopened.TryGetLog("p", 0, out var again));
        Assert.Equal(snapshots, again.ProducerSnapshotOffsets());
        Assert.True(AppendClient(again, TestBatches.Idempotent(41, 0, 5)).Duplicate);
        Assert.True(AppendClient(again, TestBatches.Idempotent(41, 0, 1)).Duplicate);
        Assert.Equal(ErrorCode.None, AppendClient(again, TestBatches.Idempotent(41, 0, 6)).Error);
    }

    [Fact]
    public void Open_SnapshotBeyondLogEndOrCorrupt_IgnoredAndStateRebuiltFromLog()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
            AppendClient(log, TestBatches.Idempotent(51, 0, 0));
            AppendClient(log, TestBatches.Idempotent(51, 0, 1));
        }

        var dir = Path.Combine(_dir.Path, "p-0");
        var atEnd = Path.Combine(dir, "00000000000000000002.snapshot");
        var bytes = File.ReadAllBytes(atEnd);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(atEnd, bytes);
        File.WriteAllBytes(Path.Combine(dir, "00000000000000000099.snapshot"), File.ReadAllBytes(atEnd));

        using var reopened = TestLogs.Open(_dir.Path, _time);
        Assert.True(reopened.TryGetLog("p", 0, out var again));
        Assert.Empty(again.ProducerSnapshotOffsets());
        Assert.True(AppendClient(again, TestBatches.Idempotent(51, 0, 1)).Duplicate);
    }

    [Fact]
    public void RemoveExpiredProducers_IdlePastExpiration_ForgetsProducer()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("p", 0, TopicId, TestLogs.Small);
        AppendClient(log, TestBatches.Idempotent(61, 0, 0, timestamp: 1_000));
        AppendClient(log, TestBatches.Idempotent(62, 0, 0, timestamp: 5_000));

        Assert.Equal(1, manager.RemoveExpiredProducers(nowMs: 6_000, expirationMs: 4_000));

        var remaining = Assert.Single(log.ActiveProducers());
        Assert.Equal(62, remaining.ProducerId);
        Assert.Equal(ErrorCode.None, AppendClient(log, TestBatches.Idempotent(61, 0, 9)).Error);
    }

    [Fact]
    public void Snapshot_KafkaLayout_HeaderCrcAndOneEntryPerRememberedBatch()
    {
        var state = new ProducerStateManager();
        var batch = TestBatches.Idempotent(1234, 2, 10, count: 4, timestamp: 77);
        BinaryPrimitives.WriteInt64BigEndian(batch, 100);
        state.Update(batch);

        var snapshot = state.SerializeSnapshot();

        Assert.Equal(10 + 46, snapshot.Length);
        Assert.Equal(1, BinaryPrimitives.ReadInt16BigEndian(snapshot));
        Assert.Equal(Crc32C.Compute(snapshot.AsSpan(6)), BinaryPrimitives.ReadUInt32BigEndian(snapshot.AsSpan(2)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(snapshot.AsSpan(6)));
        var entry = snapshot.AsSpan(10);
        Assert.Equal(1234, BinaryPrimitives.ReadInt64BigEndian(entry));
        Assert.Equal(2, BinaryPrimitives.ReadInt16BigEndian(entry[8..]));
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(entry[10..]));
        Assert.Equal(103, BinaryPrimitives.ReadInt64BigEndian(entry[14..]));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(entry[22..]));
        Assert.Equal(77, BinaryPrimitives.ReadInt64BigEndian(entry[26..]));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32BigEndian(entry[34..]));
        Assert.Equal(-1, BinaryPrimitives.ReadInt64BigEndian(entry[38..]));

        var loaded = new ProducerStateManager();
        Assert.True(loaded.TryLoadSnapshot(snapshot));
        Assert.Equal(ProducerCheck.Duplicate, loaded.Check(batch, out var duplicate, out _, out _));
        Assert.Equal(new BatchMetadata(10, 13, 103, 3, 77), duplicate);
        Assert.False(loaded.TryLoadSnapshot(snapshot.AsSpan(0, snapshot.Length - 1)));
    }

    private static List<long> WaitForSnapshots(PartitionLog log, long[] expected)
    {
        // Roll snapshots are written on the thread pool after the sealed segment is flushed.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var offsets = log.ProducerSnapshotOffsets();
            if (expected.All(offsets.Contains) || DateTime.UtcNow > deadline)
            {
                Assert.Equal(expected, offsets);
                return offsets;
            }

            Thread.Sleep(10);
        }
    }
}
