using Broker.Protocol.Records;
using Broker.Storage.Checkpoints;

namespace Broker.Storage.Tests;

/// <summary>The leader-epoch cache: Kafka's LeaderEpochFileCache rules, its checkpoint file, and how the log maintains it.</summary>
public sealed class LeaderEpochTests : IDisposable
{
    private static readonly Guid TopicId = new("5a0c3f1e-2b4d-4c6e-8f10-1a2b3c4d5e6f");

    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    private static LeaderEpochCache Cache(params (int Epoch, long Start)[] entries) =>
        new(null, entries.Select(e => new EpochEntry(e.Epoch, e.Start)));

    [Fact]
    public void EndOffsetFor_FollowsKafkasRules()
    {
        var cache = Cache((1, 0), (3, 10), (6, 25));

        Assert.Equal((6, 40L), cache.EndOffsetFor(6, 40));
        Assert.Equal((3, 25L), cache.EndOffsetFor(3, 40));
        Assert.Equal((3, 25L), cache.EndOffsetFor(5, 40)); // unknown epoch between: the largest known below it
        Assert.Equal((1, 10L), cache.EndOffsetFor(2, 40));
        Assert.Equal((0, 0L), cache.EndOffsetFor(0, 40)); // below every epoch: requested epoch, first start
        Assert.Equal((-1, -1L), cache.EndOffsetFor(7, 40)); // above every epoch
        Assert.Equal((-1, -1L), cache.EndOffsetFor(-1, 40));
        Assert.Equal((-1, -1L), Cache().EndOffsetFor(0, 40));
    }

    [Fact]
    public void Assign_SameEpochIgnored_ContradictedEntriesRemoved()
    {
        var cache = Cache((1, 0), (3, 10));

        Assert.False(cache.Assign(3, 12));
        Assert.True(cache.Assign(5, 20));
        Assert.Equal([new(1, 0), new(3, 10), new(5, 20)], cache.Entries);

        // A new leader's epoch 4 starting at 15 contradicts epoch 5 (higher epoch) and nothing else.
        Assert.True(cache.Assign(4, 15));
        Assert.Equal([new(1, 0), new(3, 10), new(4, 15)], cache.Entries);

        // An entry starting before existing ones removes those that start at or after it.
        Assert.True(cache.Assign(7, 10));
        Assert.Equal([new(1, 0), new(7, 10)], cache.Entries);
        Assert.False(cache.Assign(-1, 50));
    }

    [Fact]
    public void TruncateFromEndAndStart()
    {
        var cache = Cache((1, 0), (3, 10), (6, 25));

        cache.TruncateFromEnd(25);
        Assert.Equal([new(1, 0), new(3, 10)], cache.Entries);

        cache.TruncateFromStart(12);
        Assert.Equal([new(3, 12)], cache.Entries);
        Assert.Equal(3, cache.EpochForOffset(30));
        Assert.Equal(-1, cache.EpochForOffset(11));
    }

    [Fact]
    public void CheckpointFile_KafkasLayout_AndMalformedFilesRejected()
    {
        Assert.Equal("0\n2\n1 0\n3 10\n", LeaderEpochCheckpointFile.Format([new(1, 0), new(3, 10)]));
        Assert.Equal("0\n0\n", LeaderEpochCheckpointFile.Format([]));
        Assert.Equal([new(1, 0), new(3, 10)], LeaderEpochCheckpointFile.TryParse("0\n2\n1 0\n3 10\n"));
        Assert.Null(LeaderEpochCheckpointFile.TryParse("1\n1\n1 0\n"));
        Assert.Null(LeaderEpochCheckpointFile.TryParse("0\n2\n1 0\n"));
        Assert.Null(LeaderEpochCheckpointFile.TryParse("0\n2\n3 0\n1 10\n"));
        Assert.Null(LeaderEpochCheckpointFile.TryParse("0\n1\nx 0\n"));
    }

    [Fact]
    public void Append_NewEpochAddsAnEntry_PersistedAndReloaded()
    {
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("e", 0, TopicId, TestLogs.Small);
            log.Append(TestBatches.Create(3), 0, _time.NowMs, false);
            log.Append(TestBatches.Create(2), 0, _time.NowMs, false);
            log.Append(TestBatches.Create(4), 2, _time.NowMs, false);

            Assert.Equal([new(0, 0), new(2, 5)], log.LeaderEpochs.Entries);
            Assert.Equal((0, 5L), log.EndOffsetForEpoch(1));
            Assert.Equal("0\n2\n0 0\n2 5\n", File.ReadAllText(Path.Combine(log.DirectoryPath, "leader-epoch-checkpoint")));
        }

        using var reopened = TestLogs.Open(_dir.Path, _time);
        Assert.True(reopened.TryGetLog("e", 0, out var again));
        Assert.Equal([new(0, 0), new(2, 5)], again.LeaderEpochs.Entries);
        Assert.Equal((2, 9L), again.EndOffsetForEpoch(2));
    }

    [Fact]
    public void Open_WithoutCheckpoint_RebuildsFromBatchHeaders()
    {
        string directory;
        using (var manager = TestLogs.Open(_dir.Path, _time))
        {
            var log = manager.GetOrCreateLog("e", 0, TopicId, TestLogs.Small);
            log.Append(TestBatches.Create(3), 1, _time.NowMs, false);
            log.Append(TestBatches.Create(3), 4, _time.NowMs, false);
            directory = log.DirectoryPath;
        }

        File.Delete(Path.Combine(directory, "leader-epoch-checkpoint"));

        using var reopened = TestLogs.Open(_dir.Path, _time);
        Assert.True(reopened.TryGetLog("e", 0, out var again));
        Assert.Equal([new(1, 0), new(4, 3)], again.LeaderEpochs.Entries);
        Assert.True(File.Exists(Path.Combine(directory, "leader-epoch-checkpoint")));
    }

    [Fact]
    public void AssignEpochStartOffset_NewLeaderWithoutAppends_AnswersTheLogEnd()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("e", 0, TopicId, TestLogs.Small);
        log.Append(TestBatches.Create(3), 0, _time.NowMs, false);

        log.AssignEpochStartOffset(1);

        Assert.Equal((0, 3L), log.EndOffsetForEpoch(0));
        Assert.Equal((1, 3L), log.EndOffsetForEpoch(1));
    }

    [Fact]
    public void TruncateTo_LogEndAfterAnEpochWithoutAppends_DropsThatEpoch()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("e", 0, TopicId, TestLogs.Small);
        log.Append(TestBatches.Create(3), 0, _time.NowMs, false);
        log.AssignEpochStartOffset(1); // led in epoch 1, appended nothing, then followed a leader that never had epoch 1

        Assert.Equal(3, log.TruncateTo(3));

        Assert.Equal(0, log.LeaderEpochs.LatestEpoch);
        Assert.Equal([new(0, 0)], log.LeaderEpochs.Entries);
    }

    [Fact]
    public void LogStartMoves_EpochCacheTrimmedFromStart()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("e", 0, TopicId, TestLogs.Small);
        log.Append(TestBatches.Create(3), 0, _time.NowMs, false);
        log.Append(TestBatches.Create(3), 1, _time.NowMs, false);
        log.Append(TestBatches.Create(3), 2, _time.NowMs, false);

        log.HighWatermark = log.LogEndOffset;
        log.DeleteRecordsBefore(4, _time.NowMs);

        Assert.Equal([new(1, 4), new(2, 6)], log.LeaderEpochs.Entries);
    }

    [Fact]
    public void AppendBatchHeaderEpochs_AreTheLeaderEpoch()
    {
        using var manager = TestLogs.Open(_dir.Path, _time);
        var log = manager.GetOrCreateLog("e", 0, TopicId, TestLogs.Small);
        log.Append(TestBatches.Create(2), 7, _time.NowMs, false);

        var bytes = TestBatches.ReadAll(log.Read(0, 1 << 20, log.LogEndOffset, true));

        Assert.Equal(7, RecordBatchHeader.PartitionLeaderEpoch(bytes));
    }
}
