namespace Broker.Storage.Tests;

public sealed class RecoveryTests : IDisposable
{
    private static readonly Guid TopicId = new("6f1f0a52-7c1e-4b8e-9a55-0c2b3a9f1d11");
    private static readonly LogConfig Config = TestLogs.Small with { IndexIntervalBytes = 100 };

    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Open_LastBatchTornAtEveryByte_KeepsEarlierBatchesAndAcceptsAppends()
    {
        var pristine = _dir.Combine("pristine");
        var manager = TestLogs.Open(pristine, _time, config: Config);
        var log = manager.GetOrCreateLog("r", 0, TopicId, Config);
        for (var i = 0; i < 8; i++)
        {
            log.Append(TestBatches.Create(3, valueSize: 40), 0, _time.NowMs, false);
        }

        var last = log.Append(TestBatches.Create(1, valueSize: 5), 0, _time.NowMs, false);
        var all = TestBatches.ReadAll(log.Read(0, 1 << 20, log.LogEndOffset, true));
        var fullEnd = log.LogEndOffset;
        var lastStart = all.Length - TestBatches.Create(1, valueSize: 5).Length;
        TestLogs.Crash(manager);

        for (var cut = lastStart; cut <= all.Length; cut++)
        {
            var work = _dir.Combine("work");
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }

            TempDir.CopyDirectory(pristine, work);
            using (var file = File.OpenHandle(Path.Combine(work, "r-0", "00000000000000000000.log"), FileMode.Open, FileAccess.ReadWrite))
            {
                RandomAccess.SetLength(file, cut);
            }

            using var reopened = TestLogs.Open(work, _time, config: Config);
            Assert.True(reopened.TryGetLog("r", 0, out var recovered));
            var intact = cut == all.Length;
            var expectedEnd = intact ? fullEnd : last.FirstOffset;
            Assert.Equal(expectedEnd, recovered.LogEndOffset);
            Assert.Equal(expectedEnd, recovered.RecoveryPoint);
            Assert.Equal(intact ? all : all[..lastStart], TestBatches.ReadAll(recovered.Read(0, 1 << 20, expectedEnd, true)));
            for (var offset = 0L; offset < expectedEnd; offset++)
            {
                var batch = TestBatches.Parse(TestBatches.ReadAll(recovered.Read(offset, 1, expectedEnd, true)));
                Assert.True(batch.Count == 1 && batch[0].Base <= offset && offset <= batch[0].Last);
            }

            var appended = recovered.Append(TestBatches.Create(2), 0, _time.NowMs, false);
            Assert.Equal(expectedEnd, appended.FirstOffset);
            Assert.Equal([(expectedEnd, expectedEnd + 1)], TestBatches.Parse(TestBatches.ReadAll(recovered.Read(expectedEnd, 1 << 20, long.MaxValue, true))));
        }
    }

    [Fact]
    public void Open_CorruptCrcInMiddleBatch_TruncatesFromThatBatch()
    {
        var logDir = _dir.Combine("crc");
        var manager = TestLogs.Open(logDir, _time, config: Config);
        var log = manager.GetOrCreateLog("c", 0, TopicId, Config);
        var results = new List<AppendResult>();
        for (var i = 0; i < 5; i++)
        {
            results.Add(log.Append(TestBatches.Create(2, valueSize: 30), 0, _time.NowMs, false));
        }

        var size = TestBatches.Create(2, valueSize: 30).Length;
        TestLogs.Crash(manager);
        FlipByte(Path.Combine(logDir, "c-0", "00000000000000000000.log"), (2 * size) + 70);

        using var reopened = TestLogs.Open(logDir, _time, config: Config);

        Assert.True(reopened.TryGetLog("c", 0, out var recovered));
        Assert.Equal(results[2].FirstOffset, recovered.LogEndOffset);
        Assert.Equal(2 * size, new FileInfo(Path.Combine(logDir, "c-0", "00000000000000000000.log")).Length);
        Assert.Equal(2, TestBatches.Parse(TestBatches.ReadAll(recovered.Read(0, 1 << 20, long.MaxValue, true))).Count);
    }

    [Fact]
    public void Open_CorruptBatchInMiddleSegment_DeletesLaterSegments()
    {
        var config = Config with { SegmentBytes = 1024 };
        var logDir = _dir.Combine("segments");
        var manager = TestLogs.Open(logDir, _time, config: config);
        var log = manager.GetOrCreateLog("s", 0, TopicId, config);
        while (log.SegmentCount < 4)
        {
            log.Append(TestBatches.Create(2, valueSize: 30), 0, _time.NowMs, false);
        }

        var bases = log.SegmentBaseOffsets();
        TestLogs.Crash(manager);
        var second = Path.Combine(logDir, "s-0", bases[1].ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + ".log");
        FlipByte(second, 61 + 5); // first batch of the second segment

        using var reopened = TestLogs.Open(logDir, _time, config: config);

        Assert.True(reopened.TryGetLog("s", 0, out var recovered));
        Assert.Equal([bases[0], bases[1]], recovered.SegmentBaseOffsets());
        Assert.Equal(bases[1], recovered.LogEndOffset);
        Assert.Equal(0, new FileInfo(second).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(logDir, "s-0"), bases[2].ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + ".*"));
        Assert.Equal(bases[1], recovered.Append(TestBatches.Create(1), 0, _time.NowMs, false).FirstOffset);
    }

    [Fact]
    public void Open_RecoveryPointCheckpointed_RecoversOnlyFromItsSegment()
    {
        var config = Config with { SegmentBytes = 1024 };
        var logDir = _dir.Combine("checkpointed");
        var manager = TestLogs.Open(logDir, _time, config: config);
        var log = manager.GetOrCreateLog("p", 0, TopicId, config);
        while (log.SegmentCount < 3)
        {
            log.Append(TestBatches.Create(2, valueSize: 30), 0, _time.NowMs, false);
        }

        log.Flush();
        manager.Checkpoint();
        var checkpointed = log.LogEndOffset;
        var bases = log.SegmentBaseOffsets();
        log.Append(TestBatches.Create(2, valueSize: 30), 0, _time.NowMs, false);
        TestLogs.Crash(manager);

        // Damage a trusted (fully flushed, before the recovery point) segment: nobody rescans it, so it stays.
        FlipByte(Path.Combine(logDir, "p-0", "00000000000000000000.log"), 61 + 5);

        using var reopened = TestLogs.Open(logDir, _time, config: config);

        Assert.True(reopened.TryGetLog("p", 0, out var recovered));
        Assert.Equal(bases, recovered.SegmentBaseOffsets());
        Assert.Equal(checkpointed + 2, recovered.LogEndOffset);
    }

    [Fact]
    public void Open_AfterCleanShutdown_TrustsFilesAndDeletesMarker()
    {
        var logDir = _dir.Combine("clean");
        var manager = TestLogs.Open(logDir, _time, config: Config);
        var log = manager.GetOrCreateLog("k", 0, TopicId, Config);
        for (var i = 0; i < 5; i++)
        {
            log.Append(TestBatches.Create(2, valueSize: 30), 0, _time.NowMs, false);
        }

        manager.BrokerEpoch = 42;
        manager.Dispose();
        var marker = Path.Combine(logDir, ".kafka_cleanshutdown");
        Assert.Equal("{\"version\":0,\"brokerEpoch\":42}", File.ReadAllText(marker));

        // Corruption a scan would catch goes unnoticed: a clean shutdown means no scan.
        var size = TestBatches.Create(2, valueSize: 30).Length;
        FlipByte(Path.Combine(logDir, "k-0", "00000000000000000000.log"), (2 * size) + 70);
        var reopened = TestLogs.Open(logDir, _time, config: Config);
        Assert.True(reopened.TryGetLog("k", 0, out var trusted));
        Assert.False(File.Exists(marker));
        Assert.Equal(42, reopened.PreviousBrokerEpoch);
        Assert.Equal(10, trusted.LogEndOffset);
        Assert.Equal(10, trusted.Append(TestBatches.Create(1), 0, _time.NowMs, false).FirstOffset);

        // Without the marker the next start scans and truncates at the damaged batch.
        TestLogs.Crash(reopened);
        using var recoveredManager = TestLogs.Open(logDir, _time, config: Config);
        Assert.True(recoveredManager.TryGetLog("k", 0, out var recovered));
        Assert.Equal(4, recovered.LogEndOffset);
        Assert.Equal(-1, recoveredManager.PreviousBrokerEpoch);
    }

    [Fact]
    public void Open_PreallocatedSegmentAfterCrash_CutsZeroTail()
    {
        var config = Config with { Preallocate = true };
        var logDir = _dir.Combine("prealloc");
        var manager = TestLogs.Open(logDir, _time, config: config);
        var log = manager.GetOrCreateLog("z", 0, TopicId, config);
        log.Append(TestBatches.Create(3), 0, _time.NowMs, false);
        var segmentFile = Path.Combine(logDir, "z-0", "00000000000000000000.log");
        Assert.Equal(config.SegmentBytes, new FileInfo(segmentFile).Length);
        TestLogs.Crash(manager);

        using var reopened = TestLogs.Open(logDir, _time, config: config);

        Assert.True(reopened.TryGetLog("z", 0, out var recovered));
        Assert.Equal(3, recovered.LogEndOffset);
        Assert.Equal(TestBatches.Create(3).Length, new FileInfo(segmentFile).Length);
    }

    private static void FlipByte(string path, long position)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var one = new byte[1];
        RandomAccess.Read(file, one, position);
        one[0] ^= 0xFF;
        RandomAccess.Write(file, one, position);
    }
}
