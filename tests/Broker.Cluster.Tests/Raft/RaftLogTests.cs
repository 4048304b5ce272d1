using Broker.Cluster.Raft;

namespace Broker.Cluster.Tests.Raft;

/// <summary>The <see cref="IRaftLog"/> contract, run against the in-memory log and the segment-backed log.</summary>
public sealed class RaftLogTests : IDisposable
{
    private readonly RaftLogKinds _logs = new();

    public static TheoryData<string> Kinds => RaftLogKinds.Kinds;

    public void Dispose() => _logs.Dispose();

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AppendAsLeader_EmptyLog_AssignsOffsetsFromZeroAndTheEpoch(string kind)
    {
        var log = _logs.Create(kind);

        Assert.Equal(new OffsetAndEpoch(0, 0), log.EndOffset);
        Assert.Equal(3, log.AppendAsLeader(RaftTestData.Batch(3, baseOffset: 99), 1));
        Assert.Equal(5, log.AppendAsLeader(RaftTestData.Batch(2), 2));

        Assert.Equal(new OffsetAndEpoch(5, 2), log.EndOffset);
        Assert.Equal([(0L, 2L, 1), (3L, 4L, 2)], RaftTestData.ReadAll(log));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EndOffsetForEpoch_SeveralEpochs_AnswersWhereEachEnds(string kind)
    {
        var log = _logs.Create(kind);
        log.AppendAsLeader(RaftTestData.Batch(2), 1);
        log.AppendAsLeader(RaftTestData.Batch(3), 3);
        log.AppendAsLeader(RaftTestData.Batch(1), 5);

        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(1));
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(2));
        Assert.Equal(new OffsetAndEpoch(5, 3), log.EndOffsetForEpoch(4));
        Assert.Equal(new OffsetAndEpoch(6, 5), log.EndOffsetForEpoch(5));
        Assert.Equal(new OffsetAndEpoch(6, 5), log.EndOffsetForEpoch(9));
        Assert.Equal(new OffsetAndEpoch(0, 0), log.EndOffsetForEpoch(0));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TruncateTo_MiddleOfLog_DropsWholeBatchesAndLaterEpochs(string kind)
    {
        var log = _logs.Create(kind);
        log.AppendAsLeader(RaftTestData.Batch(2), 1);
        log.AppendAsLeader(RaftTestData.Batch(3), 3);
        log.Flush();

        Assert.Equal(2, log.TruncateTo(3));

        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffset);
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(3));
        Assert.True(log.FlushedOffset <= 2);
        Assert.Equal(4, log.AppendAsLeader(RaftTestData.Batch(2), 4));
        Assert.Equal([(0L, 1L, 1), (2L, 3L, 4)], RaftTestData.ReadAll(log));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AppendAsFollower_LeaderBatches_KeepsTheirOffsetsAndEpochs(string kind)
    {
        var leader = new MemoryRaftLog();
        leader.AppendAsLeader(RaftTestData.Batch(2), 1);
        leader.AppendAsLeader(RaftTestData.Batch(3), 2);
        var log = _logs.Create(kind);

        Assert.Equal(5, log.AppendAsFollower(leader.Read(0, 1 << 20)));

        Assert.Equal(new OffsetAndEpoch(5, 2), log.EndOffset);
        Assert.Equal(RaftTestData.ReadAll(leader), RaftTestData.ReadAll(log));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Read_MaxBytesBelowOneBatch_ReturnsTheWholeFirstBatchOnly(string kind)
    {
        var log = _logs.Create(kind);
        log.AppendAsLeader(RaftTestData.Batch(2), 1);
        log.AppendAsLeader(RaftTestData.Batch(2), 1);

        var read = RaftTestData.Batches(log.Read(1, 10));

        Assert.Equal([(0L, 1L, 1)], read);
        Assert.True(log.Read(4, 1000).IsEmpty);
    }

    [Fact]
    public void CloneFlushed_UnflushedTail_IsLostLikeAfterACrash()
    {
        var log = new MemoryRaftLog();
        log.AppendAsLeader(RaftTestData.Batch(2), 1);
        log.Flush();
        log.AppendAsLeader(RaftTestData.Batch(2), 1);

        var survivor = log.CloneFlushed();

        Assert.Equal(new OffsetAndEpoch(2, 1), survivor.EndOffset);
        Assert.Equal(2, survivor.FlushedOffset);
    }

    [Fact]
    public void PartitionRaftLog_Reopen_KeepsBatchesEpochsAndTheDirectory()
    {
        var first = _logs.Open();
        Assert.EndsWith("__cluster_metadata-0", first.DirectoryPath, StringComparison.Ordinal);
        first.AppendAsLeader(RaftTestData.Batch(2), 1);
        first.AppendAsLeader(RaftTestData.Batch(1), 4);
        first.Flush();
        _logs.CloseLast();

        var reopened = _logs.Open();

        Assert.Equal(new OffsetAndEpoch(3, 4), reopened.EndOffset);
        Assert.Equal(new OffsetAndEpoch(2, 1), reopened.EndOffsetForEpoch(3));
        Assert.Equal([(0L, 1L, 1), (2L, 2L, 4)], RaftTestData.ReadAll(reopened));
        Assert.True(File.Exists(Path.Combine(reopened.DirectoryPath, "leader-epoch-checkpoint")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void StoreSnapshot_InsideTheLogThenDeleteBefore_StartMovesUpAndTheRestStays(string kind)
    {
        var log = _logs.Create(kind);
        log.AppendAsLeader(RaftTestData.Batch(3), 1);
        log.AppendAsLeader(RaftTestData.Batch(2), 2);
        log.AppendAsLeader(RaftTestData.Batch(4), 2);
        log.UpdateHighWatermark(9);
        log.Flush();

        log.StoreSnapshot(new OffsetAndEpoch(5, 2), [1, 2, 3]);
        Assert.True(log.DeleteBeforeSnapshot(new OffsetAndEpoch(5, 2)));

        Assert.Equal(new OffsetAndEpoch(5, 2), log.LatestSnapshot);
        Assert.Equal(5, log.StartOffset);
        Assert.Equal(new OffsetAndEpoch(9, 2), log.EndOffset);
        Assert.Equal([(5L, 8L, 2)], RaftTestData.ReadAll(log));
        Assert.Equal(new byte[] { 1, 2, 3 }, log.ReadSnapshot(new OffsetAndEpoch(5, 2)).ToArray());
        Assert.Equal(new OffsetAndEpoch(9, 2), log.EndOffsetForEpoch(2));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void StoreSnapshot_PastTheLogEnd_LogRestartsEmptyAtTheSnapshotEnd(string kind)
    {
        var log = _logs.Create(kind);
        log.AppendAsLeader(RaftTestData.Batch(3), 1);
        log.Flush();

        log.StoreSnapshot(new OffsetAndEpoch(40, 4), [9]);

        Assert.Equal(40, log.StartOffset);
        Assert.Equal(new OffsetAndEpoch(40, 4), log.EndOffset);
        Assert.Empty(RaftTestData.ReadAll(log));
        Assert.Equal(42, log.AppendAsFollower(RaftTestData.Batch(2, baseOffset: 40, epoch: 5)));
        Assert.Equal(new OffsetAndEpoch(42, 5), log.EndOffset);
    }

    [Fact]
    public void Open_AfterAFollowerInstalledASnapshot_KeepsTheSnapshotStartAndWhatFollowed()
    {
        var log = _logs.Open();
        log.AppendAsLeader(RaftTestData.Batch(3), 1);
        log.StoreSnapshot(new OffsetAndEpoch(40, 4), [9]);
        log.AppendAsFollower(RaftTestData.Batch(2, baseOffset: 40, epoch: 5));
        log.Flush();
        _logs.CloseLast();

        var reopened = _logs.Open();

        Assert.Equal(new OffsetAndEpoch(40, 4), reopened.LatestSnapshot);
        Assert.Equal(40, reopened.StartOffset);
        Assert.Equal(new OffsetAndEpoch(42, 5), reopened.EndOffset);
        Assert.Equal([(40L, 41L, 5)], RaftTestData.ReadAll(reopened));
    }

    [Fact]
    public void Open_SnapshotAheadOfTheLog_RestartsTheLogAtIt()
    {
        // A crash after the snapshot file was renamed into place but before the log restarted there.
        var log = _logs.Open();
        log.AppendAsLeader(RaftTestData.Batch(3), 1);
        log.Flush();
        SnapshotFiles.Write(log.DirectoryPath, new OffsetAndEpoch(40, 4), [9]);
        _logs.CloseLast();

        var reopened = _logs.Open();

        Assert.Equal(new OffsetAndEpoch(40, 4), reopened.EndOffset);
        Assert.Equal(40, reopened.StartOffset);
    }
}
