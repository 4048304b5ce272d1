using Broker.Coordinators.Groups;
using Broker.Protocol;

namespace Broker.Coordinators.Tests;

public sealed class OffsetTests
{
    private static OffsetCommitCall Commit(string group, int generation, string memberId, params (int Partition, long Offset)[] offsets) =>
        new(group, generation, memberId, null, -1, offsets.Select(o => new OffsetCommitEntry("t", o.Partition, o.Offset, 3, "meta")).ToList(), GroupIdNotFoundSupported: true);

    private static List<FetchedOffset> Fetch(GroupTestBed bed, string group, IReadOnlyList<(string, IReadOnlyList<int>)>? topics)
    {
        var into = new List<FetchedOffset>();
        Assert.Equal(ErrorCode.None, bed.Coordinator.FetchOffsets(group, topics, into));
        return into;
    }

    [Fact]
    public void CommitOffsets_SimpleGroupGenerationMinusOne_AcceptedAndFetched()
    {
        var bed = new GroupTestBed();

        var results = bed.Coordinator.CommitOffsets(Commit("simple", -1, "", (0, 42), (1, 7)));

        Assert.All(results, r => Assert.Equal(ErrorCode.None, r.Error));
        var fetched = Fetch(bed, "simple", [("t", [0, 1, 2])]);
        Assert.Equal([42L, 7L, -1L], fetched.Select(f => f.Offset));
        Assert.Equal("meta", fetched[0].Metadata);
        Assert.Equal(3, fetched[0].LeaderEpoch);
        Assert.Equal(2, Fetch(bed, "simple", null).Count);
    }

    [Theory]
    [InlineData(true, ErrorCode.GroupIdNotFound)]
    [InlineData(false, ErrorCode.IllegalGeneration)]
    public void CommitOffsets_UnknownGroupWithGeneration_RejectedPerVersion(bool v9, ErrorCode expected)
    {
        var bed = new GroupTestBed();

        var results = bed.Coordinator.CommitOffsets(Commit("nope", 1, "m", (0, 1)) with { GroupIdNotFoundSupported = v9 });

        Assert.Equal(expected, Assert.Single(results).Error);
    }

    [Fact]
    public async Task CommitOffsets_UnknownMemberOrGeneration_Rejected()
    {
        var bed = new GroupTestBed();
        var (leader, _, generation) = await bed.StableGroupOfTwo();

        Assert.Equal(ErrorCode.UnknownMemberId, bed.Coordinator.CommitOffsets(Commit("g", generation, "stranger", (0, 1)))[0].Error);
        Assert.Equal(ErrorCode.IllegalGeneration, bed.Coordinator.CommitOffsets(Commit("g", generation - 1, leader, (0, 1)))[0].Error);
        Assert.Equal(ErrorCode.UnknownMemberId, bed.Coordinator.CommitOffsets(Commit("g", -1, "", (0, 1)))[0].Error); // no identity, group not empty
        Assert.Equal(ErrorCode.None, bed.Coordinator.CommitOffsets(Commit("g", generation, leader, (0, 1)))[0].Error);
    }

    [Fact]
    public async Task CommitOffsets_CompletingRebalance_RebalanceInProgress()
    {
        var bed = new GroupTestBed();
        var (a, join) = await bed.JoinNew();
        var result = await join; // CompletingRebalance until the leader syncs

        var commit = bed.Coordinator.CommitOffsets(Commit("g", result.GenerationId, a, (0, 1)));

        Assert.Equal(ErrorCode.RebalanceInProgress, commit[0].Error);
    }

    [Fact]
    public void CommitOffsets_BadPartitionsAndLargeMetadata_PerPartitionErrors()
    {
        var bed = new GroupTestBed();
        var call = new OffsetCommitCall("simple", -1, "", null, -1,
        [
            new OffsetCommitEntry("t", 0, 1, -1, new string('x', 4097)),
            new OffsetCommitEntry("missing", 0, 1, -1, null),
            new OffsetCommitEntry("t", 99, 1, -1, null),
            new OffsetCommitEntry("t", 1, 1, -1, new string('x', 4096)),
        ], true);

        var results = bed.Coordinator.CommitOffsets(call);

        Assert.Equal([ErrorCode.OffsetMetadataTooLarge, ErrorCode.UnknownTopicOrPartition, ErrorCode.UnknownTopicOrPartition, ErrorCode.None], results.Select(r => r.Error));
    }

    [Fact]
    public async Task Load_AfterRestart_OffsetsAndGroupMetadataReplayed()
    {
        var bed = new GroupTestBed();
        var (leader, follower, generation) = await bed.StableGroupOfTwo();
        bed.Coordinator.CommitOffsets(Commit("g", generation, leader, (0, 10), (1, 11)));
        bed.Coordinator.CommitOffsets(Commit("g", generation, follower, (1, 12)));
        bed.Coordinator.CommitOffsets(Commit("gone", -1, "", (0, 5)));
        Assert.Equal(ErrorCode.None, bed.Coordinator.DeleteGroup("gone"));

        var restarted = new GroupTestBed(log: bed.Log);

        Assert.Equal([10L, 12L], Fetch(restarted, "g", [("t", [0, 1])]).Select(f => f.Offset));
        Assert.Equal([-1L], Fetch(restarted, "gone", [("t", [0])]).Select(f => f.Offset));
        var described = restarted.Coordinator.DescribeGroup("g");
        Assert.Equal(GroupState.Stable, described.State);
        Assert.Equal(generation, described.GenerationId);
        Assert.Equal(2, described.Members.Count);
        Assert.Equal(ErrorCode.None, restarted.Coordinator.Heartbeat("g", follower, null, generation));
        Assert.Equal(new byte[] { 8 }, (await restarted.Sync(follower, generation)).Assignment);
    }

    [Fact]
    public void Records_KeyAndValueVersions_AsKafkaWritesThem()
    {
        var offset = GroupRecords.Offset("g", "t", 3, new CommittedOffset(5, 1, "m", 100, -1));
        var tombstone = GroupRecords.Offset("g", "t", 3, null);

        Assert.Equal(new byte[] { 0, 1 }, offset.Key[..2]);
        Assert.Equal(new byte[] { 0, 3 }, offset.Value![..2]);
        Assert.Null(tombstone.Value);
        var (key, group) = GroupRecords.ReadKey(offset.Key);
        Assert.Null(group);
        Assert.Equal(("g", "t", 3), (key!.Group, key.Topic, key.Partition));
        Assert.Equal(5, GroupRecords.ReadOffsetValue(offset.Value).Offset);
        Assert.Equal(new byte[] { 0, 2 }, GroupRecords.Group("g", null).Key[..2]);
    }

    [Fact]
    public async Task DeleteGroup_NonEmpty_NonEmptyGroup()
    {
        var bed = new GroupTestBed();
        await bed.StableGroupOfTwo();

        Assert.Equal(ErrorCode.NonEmptyGroup, bed.Coordinator.DeleteGroup("g"));
        Assert.Equal(ErrorCode.GroupIdNotFound, bed.Coordinator.DeleteGroup("unknown"));
    }

    [Fact]
    public void ExpireOffsets_SimpleGroupPastRetention_TombstonesWritten()
    {
        var bed = new GroupTestBed(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 0, OffsetsRetentionMs = 60_000, OffsetsRetentionCheckIntervalMs = 1000 });
        bed.Coordinator.CommitOffsets(Commit("simple", -1, "", (0, 1)));
        bed.Advance(30_000);
        bed.Coordinator.CommitOffsets(Commit("simple", -1, "", (1, 2)));

        bed.Advance(31_000);

        Assert.Equal([-1L, 2L], Fetch(bed, "simple", [("t", [0, 1])]).Select(f => f.Offset));
        Assert.Contains(bed.Log.Records(), r => r.Value is null);
        bed.Advance(30_000);
        Assert.Empty(bed.Coordinator.ListGroups([], []));
    }

    [Fact]
    public async Task DeleteOffsets_SubscribedTopic_GroupSubscribedToTopic()
    {
        var bed = new GroupTestBed();
        // ConsumerProtocolSubscription v0 for topic "t": version, one topic, null user data.
        byte[] subscription = [0, 0, 0, 0, 0, 1, 0, 1, (byte)'t', 0xff, 0xff, 0xff, 0xff];
        var first = await bed.Join("", protocols: [new GroupProtocol("range", subscription)]);
        var joined = await bed.Join(first.MemberId, protocols: [new GroupProtocol("range", subscription)]);
        await bed.Sync(first.MemberId, joined.GenerationId, new() { [first.MemberId] = [1] });
        bed.Coordinator.CommitOffsets(Commit("g", joined.GenerationId, first.MemberId, (0, 3)));

        var errors = new List<ErrorCode>();
        Assert.Equal(ErrorCode.None, bed.Coordinator.DeleteOffsets("g", [("t", 0), ("other", 0)], errors));

        Assert.Equal([ErrorCode.GroupSubscribedToTopic, ErrorCode.None], errors);
    }

    [Fact]
    public void CoordinatorError_PartitionNotLoaded_NotCoordinatorOrLoadInProgress()
    {
        var log = new InMemoryGroupLog(partitionCount: 50);
        var coordinator = new GroupCoordinator(new GroupCoordinatorOptions(), log, (_, _) => true, new ManualTimeProvider(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.Equal(ErrorCode.NotCoordinator, coordinator.CoordinatorError("group-1"));
        coordinator.OnLeadership(new HashSet<int> { 49 }, _ => { });
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, coordinator.CoordinatorError("group-1"));
        coordinator.Load(49);
        Assert.Equal(ErrorCode.None, coordinator.CoordinatorError("group-1"));
    }

    [Fact]
    public async Task ExpireOffsets_StableConsumerGroup_OnlyUnsubscribedTopicsExpire()
    {
        var bed = new GroupTestBed(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 0, OffsetsRetentionMs = 60_000, OffsetsRetentionCheckIntervalMs = 1000 });
        // ConsumerProtocolSubscription v0 for topic "u" only: offsets of "t" are no longer consumed.
        byte[] subscription = [0, 0, 0, 0, 0, 1, 0, 1, (byte)'u', 0xff, 0xff, 0xff, 0xff];
        var first = await bed.Join("", protocols: [new GroupProtocol("range", subscription)]);
        var joined = await bed.Join(first.MemberId, protocols: [new GroupProtocol("range", subscription)]);
        await bed.Sync(first.MemberId, joined.GenerationId, new() { [first.MemberId] = [1] });
        bed.Coordinator.CommitOffsets(Commit("g", joined.GenerationId, first.MemberId, (0, 3)));

        for (var i = 0; i < 61; i++)
        {
            bed.Advance(1000);
            bed.Coordinator.Heartbeat("g", first.MemberId, null, joined.GenerationId);
        }

        Assert.Equal(GroupState.Stable, bed.Coordinator.DescribeGroup("g").State);
        Assert.Equal([-1L], Fetch(bed, "g", [("t", [0])]).Select(f => f.Offset));
    }
}
