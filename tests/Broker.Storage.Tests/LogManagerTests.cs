namespace Broker.Storage.Tests;

public sealed class LogManagerTests : IDisposable
{
    private static readonly Guid TopicA = new("00000000-0000-0000-0000-000000000001");
    private static readonly Guid TopicB = new("6f1f0a52-7c1e-4b8e-9a55-0c2b3a9f1d11");

    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Open_FreshDirectory_WritesGoldenMetaProperties()
    {
        using var manager = TestLogs.Open(_dir.Path, _time, nodeId: 3, clusterId: "MkU3OEVBNTcwNTJENDM2Qg");

        // Ids come from TestLogs' deterministic guid source: 11111111-2222-3333-4455-66778899aa01.
        Assert.Equal(
            "cluster.id=MkU3OEVBNTcwNTJENDM2Qg\n" +
            "directory.id=ERERESIiMzNEVWZ3iJmqAQ\n" +
            "node.id=3\n" +
            "version=1\n",
            File.ReadAllText(_dir.Combine("meta.properties")));
        Assert.Equal("MkU3OEVBNTcwNTJENDM2Qg", manager.ClusterId);
        Assert.Equal(new Guid("11111111-2222-3333-4455-66778899aa01"), manager.Directories[0].DirectoryId);
    }

    [Fact]
    public void Open_MetaPropertiesOfAnotherNode_ThrowsNamingBothIds()
    {
        TestLogs.Open(_dir.Path, _time, nodeId: 1).Dispose();

        var error = Assert.Throws<InvalidOperationException>(() => TestLogs.Open(_dir.Path, _time, nodeId: 2));

        Assert.Contains("node.id 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("node.id 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ExistingDirectory_KeepsClusterAndDirectoryIds()
    {
        Guid directoryId;
        string clusterId;
        using (var first = TestLogs.Open(_dir.Path, _time))
        {
            directoryId = first.Directories[0].DirectoryId;
            clusterId = first.ClusterId;
        }

        using var second = LogManager.Open(TestLogs.Options([_dir.Path]), _time);

        Assert.Equal(directoryId, second.Directories[0].DirectoryId);
        Assert.Equal(clusterId, second.ClusterId);
        Assert.Throws<InvalidOperationException>(() => TestLogs.Open(_dir.Path, _time, clusterId: "AAAAAAAAAAAAAAAAAAAAAQ"));
    }

    [Fact]
    public void GetOrCreateLog_NewLog_WritesGoldenPartitionMetadata()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);

        var log = manager.GetOrCreateLog("orders", 7, TopicA, TestLogs.Small);

        Assert.Equal(_dir.Combine("orders-7"), log.DirectoryPath);
        Assert.Equal("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n", File.ReadAllText(_dir.Combine("orders-7", "partition.metadata")));
        Assert.True(File.Exists(_dir.Combine("orders-7", "00000000000000000000.log")));
        Assert.Same(log, manager.GetOrCreateLog("orders", 7, TopicA, TestLogs.Small));
    }

    [Fact]
    public void GetOrCreateLog_OtherTopicId_ThrowsInconsistentTopicId()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        manager.GetOrCreateLog("orders", 0, TopicA, TestLogs.Small);

        Assert.Throws<InconsistentTopicIdException>(() => manager.GetOrCreateLog("orders", 0, TopicB, TestLogs.Small));
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("bad name")]
    public void GetOrCreateLog_IllegalTopicName_Throws(string topic)
    {
        using var manager = TestLogs.Open(_dir.Path, _time);

        Assert.Throws<ArgumentException>(() => manager.GetOrCreateLog(topic, 0, TopicA, TestLogs.Small));
    }

    [Fact]
    public void Checkpoint_TwoLogs_WritesGoldenFiles()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var b = manager.GetOrCreateLog("beta", 1, TopicB, TestLogs.Small);
        var a = manager.GetOrCreateLog("alpha", 0, TopicA, TestLogs.Small);
        a.Append(TestBatches.Create(3), 0, 0, false);
        b.Append(TestBatches.Create(5), 0, 0, false);
        a.Flush();
        b.HighWatermark = 5;
        b.IncrementLogStartOffset(2);

        manager.Checkpoint();

        Assert.Equal("0\n2\nalpha 0 3\nbeta 1 0\n", File.ReadAllText(_dir.Combine("recovery-point-offset-checkpoint")));
        Assert.Equal("0\n2\nalpha 0 0\nbeta 1 2\n", File.ReadAllText(_dir.Combine("log-start-offset-checkpoint")));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void CheckpointHighWatermarks_LogsAndMetadataLog_WritesGoldenFileWithoutTheMetadataLog()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var a = manager.GetOrCreateLog("alpha", 0, TopicA, TestLogs.Small);
        var b = manager.GetOrCreateLog("beta", 1, TopicB, TestLogs.Small);
        var metadata = manager.GetOrCreateLog("__cluster_metadata", 0, new Guid("00000000-0000-0000-0000-000000000002"), TestLogs.Small);
        a.Append(TestBatches.Create(5), 0, 0, false);
        b.Append(TestBatches.Create(4), 0, 0, false);
        metadata.Append(TestBatches.Create(2), 0, 0, false);
        // Opened empty, the logs' high watermarks start at 0; replication moves them.
        a.HighWatermark = 3;
        metadata.HighWatermark = 2;

        manager.CheckpointHighWatermarks();

        Assert.Equal("0\n2\nalpha 0 3\nbeta 1 0\n", File.ReadAllText(_dir.Combine("replication-offset-checkpoint")));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void Reopen_AfterCrash_HighWatermarkFromCheckpointNotTheLogEnd()
    {
        // A replica that held records beyond the committed high watermark when it died must not expose them on restart.
        using var crashed = new TempDir();
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("keep", 0, TopicB, TestLogs.Small);
            log.Append(TestBatches.Create(10), 0, 0, false);
            log.HighWatermark = 6;
            manager.CheckpointHighWatermarks();
            log.Append(TestBatches.Create(4), 0, 0, false);
            log.Flush();
            TempDir.CopyDirectory(_dir.Path, crashed.Path);
        }

        Assert.False(File.Exists(Path.Combine(crashed.Path, ".kafka_cleanshutdown")));
        using var reopened = TestLogs.Open(crashed.Path, _time);

        Assert.True(reopened.TryGetLog("keep", 0, out var again));
        Assert.Equal(14, again.LogEndOffset);
        Assert.Equal(6, again.HighWatermark);
    }

    [Fact]
    public void Reopen_CheckpointBeyondTheLogEnd_HighWatermarkClampedToTheLogEnd()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            manager.GetOrCreateLog("keep", 0, TopicB, TestLogs.Small).Append(TestBatches.Create(3), 0, 0, false);
        }

        File.WriteAllText(_dir.Combine("replication-offset-checkpoint"), "0\n1\nkeep 0 99\n");
        using var reopened = TestLogs.Open(_dir.Path, _time);

        Assert.True(reopened.TryGetLog("keep", 0, out var again));
        Assert.Equal(3, again.HighWatermark);
    }

    [Fact]
    public void Reopen_AfterClose_PreservesOffsetsAndTopicId()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("keep", 0, TopicB, TestLogs.Small);
            for (var i = 0; i < 20; i++)
            {
                log.Append(TestBatches.Create(3, valueSize: 50), 0, 0, false);
            }

            log.HighWatermark = log.LogEndOffset;
            log.IncrementLogStartOffset(7);
        }

        using var reopened = TestLogs.Open(_dir.Path, _time);

        Assert.True(reopened.TryGetLog("keep", 0, out var again));
        Assert.Equal(60, again.LogEndOffset);
        Assert.Equal(7, again.LogStartOffset);
        Assert.Equal(60, again.HighWatermark);
        Assert.Equal(60, again.RecoveryPoint);
        Assert.Equal(TopicB, again.TopicId);
        Assert.Equal(60, again.Append(TestBatches.Create(1), 0, 0, false).FirstOffset);
        Assert.Equal(LogReadError.OffsetOutOfRange, again.Read(6, 100, long.MaxValue, true).Error);
    }

    [Fact]
    public void DeleteLog_NoDelay_RemovesDirectoryAndLog()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        manager.GetOrCreateLog("gone", 0, TopicA, TestLogs.Small).Append(TestBatches.Create(1), 0, 0, false);

        Assert.True(manager.DeleteLog("gone", 0));

        Assert.False(manager.TryGetLog("gone", 0, out _));
        Assert.Empty(Directory.GetDirectories(_dir.Path));
        Assert.False(manager.DeleteLog("gone", 0));
    }

    [Fact]
    public void DeleteLog_WithDelay_RenamesThenDeletesWhenDue()
    {
        var config = TestLogs.Small with { FileDeleteDelayMs = 60_000 };
        using var manager = TestLogs.Open(_dir.Path, _time, config: config);
        var log = manager.GetOrCreateLog("later", 3, TopicA, config);
        log.Append(TestBatches.Create(2), 0, 0, false);
        var read = log.Read(0, 1 << 20, long.MaxValue, true);

        manager.DeleteLog("later", 3);

        var renamed = Assert.Single(Directory.GetDirectories(_dir.Path));
        Assert.Matches(@"later-3\.[0-9a-f]{32}-delete$", renamed);
        Assert.Equal([(0L, 1L)], TestBatches.Parse(TestBatches.ReadAll(read))); // an in-flight fetch still copies
        Assert.Throws<ObjectDisposedException>(() => log.Append(TestBatches.Create(1), 0, 0, false));
        manager.FlushDue(_time.NowMs + 59_999);
        Assert.True(Directory.Exists(renamed));
        manager.FlushDue(_time.NowMs + 60_000);
        Assert.False(Directory.Exists(renamed));
    }

    [Fact]
    public void Open_LeftoverDeleteDirectory_IsRemoved()
    {
        Directory.CreateDirectory(_dir.Combine("old-0.0123456789abcdef0123456789abcdef-delete"));
        Directory.CreateDirectory(_dir.Combine("not a partition"));

        using var manager = TestLogs.Open(_dir.Path, _time);

        Assert.False(Directory.Exists(_dir.Combine("old-0.0123456789abcdef0123456789abcdef-delete")));
        Assert.True(Directory.Exists(_dir.Combine("not a partition")));
        Assert.Empty(manager.AllLogs);
    }

    [Fact]
    public void Reopen_ClusterMetadataPartition_LoadedLikeAnyLog()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            manager.GetOrCreateLog("__cluster_metadata", 0, TopicA, TestLogs.Small).Append(TestBatches.Create(3), 0, 0, false);
        }

        using var reopened = TestLogs.Open(_dir.Path, _time);
        var log = reopened.GetOrCreateLog("__cluster_metadata", 0, TopicA, LogConfig.Default);

        Assert.Equal(3, log.LogEndOffset);
        Assert.Same(LogConfig.Default, log.Config);
    }

    [Fact]
    public void Create_DirectoryWithSegmentsNotLoaded_RefusesToOverwrite()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            manager.GetOrCreateLog("t", 0, TopicA, TestLogs.Small).Append(TestBatches.Create(3), 0, 0, false);
        }

        Assert.Throws<InvalidOperationException>(() =>
            PartitionLog.Create(_dir.Combine("t-0"), "t", 0, TopicA, TestLogs.Small, _time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        Assert.Equal(TestBatches.Create(3).Length, new FileInfo(_dir.Combine("t-0", "00000000000000000000.log")).Length);
    }

    [Fact]
    public void GetOrCreateLog_TwoLogDirs_SpreadsPartitions()
    {
        var dirs = new[] { _dir.Combine("d1"), _dir.Combine("d2") };
        using (var manager = LogManager.Open(TestLogs.Options(dirs), _time))
        {
            for (var p = 0; p < 4; p++)
            {
                manager.GetOrCreateLog("spread", p, TopicA, TestLogs.Small).Append(TestBatches.Create(1), 0, 0, false);
            }

            Assert.NotEqual(manager.Directories[0].DirectoryId, manager.Directories[1].DirectoryId);
        }

        Assert.Equal(2, Directory.GetDirectories(dirs[0]).Length);
        Assert.Equal(2, Directory.GetDirectories(dirs[1]).Length);
        Assert.Equal("0\n2\nspread 0 1\nspread 2 1\n", File.ReadAllText(Path.Combine(dirs[0], "recovery-point-offset-checkpoint")));
        using var reopened = LogManager.Open(TestLogs.Options(dirs), _time);
        Assert.Equal(4, reopened.AllLogs.Count);
    }

    [Fact]
    public void FlushDue_FlushMsElapsed_AdvancesRecoveryPoints()
    {
        var config = TestLogs.Small with { FlushMs = 500 };
        using var manager = TestLogs.Open(_dir.Path, _time, config: config);
        var log = manager.GetOrCreateLog("f", 0, TopicA, config);
        log.Append(TestBatches.Create(4), 0, 0, false);

        manager.FlushDue(_time.NowMs + 100);
        var early = log.RecoveryPoint;
        manager.FlushDue(_time.NowMs + 500);

        Assert.Equal(0, early);
        Assert.Equal(4, log.RecoveryPoint);
    }
}
