using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;

namespace Broker.Cluster.Tests.Raft;

/// <summary>
/// Metadata log retention (<see cref="SnapshotRetention"/> over <see cref="IRaftLog.DeleteBeforeSnapshot"/>), run against
/// the in-memory log and the segment-backed log: sizes and ages against the limits, with a fixed clock.
/// </summary>
public sealed class SnapshotRetentionTests : IDisposable
{
    private const long NowMs = 1_700_000_000_000;
    private static readonly OffsetAndEpoch First = new(3, 1);
    private static readonly OffsetAndEpoch Second = new(6, 1);
    private static readonly OffsetAndEpoch Third = new(9, 2);
    private readonly RaftLogKinds _logs = new();

    public static TheoryData<string> Kinds => RaftLogKinds.Kinds;

    public void Dispose() => _logs.Dispose();

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_UnderBothLimits_KeepsEverySnapshotAndTheWholeLog(string kind)
    {
        var log = ThreeSnapshotsOf1000Bytes(kind);

        Assert.Equal(0, new SnapshotRetention(10_000, 60_000).Apply(log, NowMs));
        Assert.Equal(0, SnapshotRetention.Unlimited.Apply(log, NowMs));

        Assert.Equal([First, Second, Third], log.Snapshots);
        Assert.Equal(0, log.StartOffset);
        Assert.Equal(4, RaftTestData.ReadAll(log).Count);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_OverTheByteLimit_RemovesOldestUntilUnderAndStartsTheLogAtTheNext(string kind)
    {
        var log = ThreeSnapshotsOf1000Bytes(kind);
        Assert.True(log.SizeInBytes < 600, $"log of {log.SizeInBytes} bytes");

        // 3000 snapshot bytes plus the log exceed 2600; without the oldest snapshot, 2000 plus the log do not.
        Assert.Equal(1, new SnapshotRetention(2_600, -1).Apply(log, NowMs));

        Assert.Equal([Second, Third], log.Snapshots);
        Assert.Equal(Second.Offset, log.StartOffset);
        Assert.Equal([(6L, 8L, 2), (9L, 10L, 2)], RaftTestData.ReadAll(log));
        Assert.Equal(new byte[1000], log.ReadSnapshot(Second).ToArray());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_ByteLimitBelowTheLatestSnapshot_KeepsOnlyTheLatest(string kind)
    {
        var log = ThreeSnapshotsOf1000Bytes(kind);

        Assert.Equal(2, new SnapshotRetention(0, -1).Apply(log, NowMs));
        Assert.Equal(0, new SnapshotRetention(0, 0).Apply(log, NowMs + 1_000_000));

        // The latest snapshot is never removed and the log after it stays: the limit is soft.
        Assert.Equal([Third], log.Snapshots);
        Assert.Equal(Third.Offset, log.StartOffset);
        Assert.Equal([(9L, 10L, 2)], RaftTestData.ReadAll(log));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_OldestSnapshotOlderThanRetentionMs_RemovedUntilTheOldestIsYoungEnough(string kind)
    {
        var log = _logs.Create(kind);
        AppendFourBatches(log);
        log.StoreSnapshot(First, WithTimestamp(NowMs - 9_000));
        log.StoreSnapshot(Second, WithTimestamp(NowMs - 5_000));
        log.StoreSnapshot(Third, WithTimestamp(NowMs - 1_000));

        Assert.Equal(NowMs - 9_000, log.SnapshotTimestamp(First));
        // Exactly as old as the limit is not older than it (Kafka compares with >).
        Assert.Equal(1, new SnapshotRetention(-1, 5_000).Apply(log, NowMs));
        Assert.Equal([Second, Third], log.Snapshots);
        Assert.Equal(Second.Offset, log.StartOffset);

        Assert.Equal(1, new SnapshotRetention(-1, 5_000).Apply(log, NowMs + 1));
        Assert.Equal([Third], log.Snapshots);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_SnapshotsWithoutAHeader_AreNeverTooOld(string kind)
    {
        var log = ThreeSnapshotsOf1000Bytes(kind);

        Assert.Null(log.SnapshotTimestamp(First));
        Assert.Equal(0, new SnapshotRetention(-1, 0).Apply(log, NowMs + 1_000_000));
        Assert.Equal(3, log.Snapshots.Count);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void DeleteBeforeSnapshot_UnknownNotAfterTheStartOrUncommitted_ChangesNothing(string kind)
    {
        var log = ThreeSnapshotsOf1000Bytes(kind, highWatermark: 8);

        Assert.False(log.DeleteBeforeSnapshot(new OffsetAndEpoch(6, 2)));
        Assert.False(log.DeleteBeforeSnapshot(Third));
        Assert.True(log.DeleteBeforeSnapshot(Second));
        Assert.False(log.DeleteBeforeSnapshot(Second));
        Assert.False(log.DeleteBeforeSnapshot(First));

        Assert.Equal([Second, Third], log.Snapshots);
        Assert.Equal(Second.Offset, log.StartOffset);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_LatestSnapshotNotYetCommittedLocally_StopsBeforeIt(string kind)
    {
        var log = ThreeSnapshotsOf1000Bytes(kind, highWatermark: 8);

        Assert.Equal(1, new SnapshotRetention(0, -1).Apply(log, NowMs));

        Assert.Equal([Second, Third], log.Snapshots);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void StoreSnapshot_NotFollowingTheLog_RestartsTheLogAndDropsOlderSnapshots(string kind)
    {
        var log = ThreeSnapshotsOf1000Bytes(kind);

        // A follower installing the leader's snapshot from a later epoch.
        var installed = new OffsetAndEpoch(20, 4);
        log.StoreSnapshot(installed, new byte[10]);

        Assert.Equal([installed], log.Snapshots);
        Assert.Equal(20, log.StartOffset);
        Assert.Equal(new OffsetAndEpoch(20, 4), log.EndOffset);
    }

    [Fact]
    public void Open_AfterRetention_KeepsTheSnapshotsHeldAndTheLogStart()
    {
        var log = (PartitionRaftLog)ThreeSnapshotsOf1000Bytes("partition");
        Assert.Equal(1, new SnapshotRetention(2_600, -1).Apply(log, NowMs));
        log.Flush();
        _logs.LastManager.Checkpoint();
        _logs.CloseLast();

        var reopened = _logs.Open();

        Assert.Equal([Second, Third], reopened.Snapshots);
        Assert.Equal(Second.Offset, reopened.StartOffset);
        Assert.Equal([(6L, 8L, 2), (9L, 10L, 2)], RaftTestData.ReadAll(reopened));
    }

    [Fact]
    public void Open_SnapshotBelowTheLogStart_IsDeleted()
    {
        // A crash after the log start moved but before the snapshot file below it was deleted.
        var log = (PartitionRaftLog)ThreeSnapshotsOf1000Bytes("partition");
        Assert.True(log.DeleteBeforeSnapshot(Second));
        log.Flush();
        _logs.LastManager.Checkpoint();
        SnapshotFiles.Write(log.DirectoryPath, First, new byte[1000]);
        _logs.CloseLast();

        var reopened = _logs.Open();

        Assert.Equal([Second, Third], reopened.Snapshots);
        Assert.DoesNotContain(First, SnapshotFiles.List(reopened.DirectoryPath));
    }

    [Fact]
    public void ReadLastContainedTimestamp_KafkaSnapshotOrOtherBytes_HeaderTimestampOrNull()
    {
        Assert.Equal(1234, SnapshotFiles.ReadLastContainedTimestamp(WithTimestamp(1234)));
        Assert.Null(SnapshotFiles.ReadLastContainedTimestamp(new byte[100]));
        Assert.Null(SnapshotFiles.ReadLastContainedTimestamp(WithTimestamp(1234).AsMemory(0, 30)));
        Assert.Null(SnapshotFiles.ReadLastContainedTimestamp(RaftTestData.Batch(2)));
    }

    /// <summary>Batches [0-2 e1] [3-5 e1] [6-8 e2] [9-10 e2], committed up to <paramref name="highWatermark"/>, and snapshots of 1000 bytes at 3, 6 and 9.</summary>
    private IRaftLog ThreeSnapshotsOf1000Bytes(string kind, long highWatermark = 11)
    {
        var log = _logs.Create(kind);
        AppendFourBatches(log, highWatermark);
        log.StoreSnapshot(First, new byte[1000]);
        log.StoreSnapshot(Second, new byte[1000]);
        log.StoreSnapshot(Third, new byte[1000]);
        return log;
    }

    private static void AppendFourBatches(IRaftLog log, long highWatermark = 11)
    {
        log.AppendAsLeader(RaftTestData.Batch(3), 1);
        log.AppendAsLeader(RaftTestData.Batch(3), 1);
        log.AppendAsLeader(RaftTestData.Batch(3), 2);
        log.AppendAsLeader(RaftTestData.Batch(2), 2);
        log.Flush();
        log.UpdateHighWatermark(highWatermark);
    }

    private static byte[] WithTimestamp(long timestampMs) => MetadataSnapshot.Encode([], 1, timestampMs);
}
