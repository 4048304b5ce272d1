using Broker.Coordinators.Groups;
using Broker.Protocol;

namespace Broker.Coordinators.Tests;

public sealed class ClassicGroupTests
{
    [Fact]
    public async Task JoinGroup_NewDynamicMemberV4_MemberIdRequiredThenJoins()
    {
        var bed = new GroupTestBed();

        var first = await bed.Join("", clientId: "app");
        Assert.Equal(ErrorCode.MemberIdRequired, first.Error);
        Assert.StartsWith("app-", first.MemberId, StringComparison.Ordinal);

        var joined = await bed.Join(first.MemberId);
        Assert.Equal(ErrorCode.None, joined.Error);
        Assert.Equal(1, joined.GenerationId);
        Assert.Equal(first.MemberId, joined.MemberId);
        Assert.Equal(first.MemberId, joined.Leader);
        Assert.Equal("range", joined.ProtocolName);
        Assert.Single(joined.Members);
    }

    [Fact]
    public async Task JoinGroup_UnknownMemberId_UnknownMemberId()
    {
        var bed = new GroupTestBed();
        await bed.Join("");

        var result = await bed.Join("never-issued");

        Assert.Equal(ErrorCode.UnknownMemberId, result.Error);
    }

    [Theory]
    [InlineData(5999)]
    [InlineData(1_800_001)]
    public async Task JoinGroup_SessionTimeoutOutOfRange_InvalidSessionTimeout(int session)
    {
        var bed = new GroupTestBed(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 0 });

        var result = await bed.Join("", session: session);

        Assert.Equal(ErrorCode.InvalidSessionTimeout, result.Error);
    }

    [Fact]
    public async Task JoinGroup_NoCommonProtocol_InconsistentGroupProtocol()
    {
        var bed = new GroupTestBed();
        var (_, join) = await bed.JoinNew();
        await join;

        var other = await bed.Join("", protocols: GroupTestBed.Protocols("roundrobin"));

        Assert.Equal(ErrorCode.InconsistentGroupProtocol, other.Error);
    }

    [Fact]
    public async Task JoinGroup_TwoMembers_OnlyLeaderGetsMembers()
    {
        var bed = new GroupTestBed();
        var (a, joinA) = await bed.JoinNew();
        var genOne = await joinA;
        await bed.Sync(a, genOne.GenerationId, new() { [a] = [1] });

        var (b, joinB) = await bed.JoinNew();
        Assert.False(joinB.IsCompleted); // waits for the existing member to rejoin
        var rejoinA = await bed.Join(a);
        var resultB = await joinB;

        Assert.Equal(2, rejoinA.GenerationId);
        Assert.Equal(2, resultB.GenerationId);
        Assert.Equal(a, rejoinA.Leader);
        Assert.Equal(a, resultB.Leader);
        Assert.Equal(2, rejoinA.Members.Count);
        Assert.Empty(resultB.Members);
        Assert.Contains(rejoinA.Members, m => m.MemberId == b);
    }

    [Fact]
    public async Task JoinGroup_ProtocolVote_MostVotedCommonProtocolWins()
    {
        var bed = new GroupTestBed(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 1000 });
        var prefs = new[] { GroupTestBed.Protocols("cooperative-sticky", "range"), GroupTestBed.Protocols("range", "cooperative-sticky"), GroupTestBed.Protocols("range", "cooperative-sticky") };
        var joins = new List<Task<JoinGroupResult>>();
        foreach (var protocols in prefs)
        {
            var first = await bed.Join("", protocols: protocols);
            joins.Add(bed.Join(first.MemberId, protocols: protocols));
        }

        bed.Advance(1000);
        var results = await Task.WhenAll(joins).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.All(results, r => Assert.Equal("range", r.ProtocolName));
        Assert.All(results, r => Assert.Equal(1, r.GenerationId));
        Assert.Single(results, r => r.Members.Count == 3);
    }

    [Fact]
    public async Task SyncGroup_LeaderAssigns_EveryMemberGetsItsAssignment()
    {
        var bed = new GroupTestBed();

        var (leader, follower, generation) = await bed.StableGroupOfTwo();

        Assert.Equal(new byte[] { 7 }, (await bed.Sync(leader, generation)).Assignment);
        Assert.Equal(new byte[] { 8 }, (await bed.Sync(follower, generation)).Assignment);
        Assert.Equal(GroupState.Stable, bed.Coordinator.DescribeGroup("g").State);
    }

    [Fact]
    public async Task SyncGroup_WrongGeneration_IllegalGeneration()
    {
        var bed = new GroupTestBed();
        var (leader, _, generation) = await bed.StableGroupOfTwo();

        var result = await bed.Sync(leader, generation + 5);

        Assert.Equal(ErrorCode.IllegalGeneration, result.Error);
    }

    [Fact]
    public async Task Heartbeat_PerState_ErrorsFollowTheTable()
    {
        var bed = new GroupTestBed();
        Assert.Equal(ErrorCode.UnknownMemberId, bed.Coordinator.Heartbeat("g", "nobody", null, 0));

        var (a, joinA) = await bed.JoinNew();
        var genOne = await joinA;
        Assert.Equal(ErrorCode.None, bed.Coordinator.Heartbeat("g", a, null, genOne.GenerationId)); // CompletingRebalance
        Assert.Equal(ErrorCode.IllegalGeneration, bed.Coordinator.Heartbeat("g", a, null, genOne.GenerationId + 1));
        await bed.Sync(a, genOne.GenerationId, new() { [a] = [1] });
        Assert.Equal(ErrorCode.None, bed.Coordinator.Heartbeat("g", a, null, genOne.GenerationId)); // Stable

        var (_, joinB) = await bed.JoinNew();
        Assert.Equal(ErrorCode.RebalanceInProgress, bed.Coordinator.Heartbeat("g", a, null, genOne.GenerationId)); // PreparingRebalance
        Assert.Equal(ErrorCode.UnknownMemberId, bed.Coordinator.Heartbeat("g", "nobody", null, genOne.GenerationId));
        await bed.Join(a);
        await joinB;
    }

    [Fact]
    public async Task Tick_SessionExpires_MemberRemovedAndGroupRebalances()
    {
        var bed = new GroupTestBed();
        var (leader, follower, generation) = await bed.StableGroupOfTwo();

        // Only the leader keeps heartbeating.
        for (var i = 0; i < 11; i++)
        {
            bed.Advance(1000);
            bed.Coordinator.Heartbeat("g", leader, null, generation);
        }

        Assert.Equal(GroupState.PreparingRebalance, bed.Coordinator.DescribeGroup("g").State);
        Assert.Equal(ErrorCode.RebalanceInProgress, bed.Coordinator.Heartbeat("g", leader, null, generation));
        var rejoin = await bed.Join(leader);
        Assert.Equal(generation + 1, rejoin.GenerationId);
        Assert.Single(rejoin.Members);
        Assert.Equal(ErrorCode.UnknownMemberId, bed.Coordinator.Heartbeat("g", follower, null, generation));
    }

    [Fact]
    public async Task Tick_RebalanceTimeoutPasses_MemberThatDidNotRejoinRemoved()
    {
        var bed = new GroupTestBed();
        var (leader, follower, generation) = await bed.StableGroupOfTwo();

        var rejoin = bed.Join(leader, protocols: GroupTestBed.Protocols("range", "roundrobin")); // changed metadata: rebalance
        for (var elapsed = 0; elapsed < 30_000 && !rejoin.IsCompleted; elapsed += 2000)
        {
            bed.Coordinator.Heartbeat("g", follower, null, generation); // alive, but never rejoins
            bed.Advance(2000);
        }

        var result = await rejoin.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(generation + 1, result.GenerationId);
        Assert.Single(result.Members);
        Assert.Equal(leader, result.Members[0].MemberId);
    }

    [Fact]
    public async Task Join_InitialDelay_WaitsAndIsRearmedByNewMembers()
    {
        var bed = new GroupTestBed(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 3000 });
        var (_, joinA) = await bed.JoinNew();
        bed.Advance(2000);
        Assert.False(joinA.IsCompleted);

        var (_, joinB) = await bed.JoinNew(); // re-arms: 3 s from now
        bed.Advance(2000);
        Assert.False(joinA.IsCompleted);
        bed.Advance(1000);

        var (a, b) = (await joinA.WaitAsync(TimeSpan.FromSeconds(5)), await joinB.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, a.GenerationId);
        Assert.Equal(1, b.GenerationId);
    }

    [Fact]
    public async Task Join_InitialDelay_CappedByRebalanceTimeout()
    {
        var bed = new GroupTestBed(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 60_000 });
        var (_, join) = await bed.JoinNew(rebalance: 5000);

        bed.Advance(5000);

        Assert.Equal(ErrorCode.None, (await join.WaitAsync(TimeSpan.FromSeconds(5))).Error);
    }

    [Fact]
    public async Task Join_StaticMemberRestarts_NoRebalanceAndOldIdFenced()
    {
        var bed = new GroupTestBed();
        var a = await bed.Join("", instanceId: "instance-a");
        Assert.Equal(ErrorCode.None, a.Error); // static members get their id at once
        Assert.StartsWith("instance-a-", a.MemberId, StringComparison.Ordinal);
        await bed.Sync(a.MemberId, a.GenerationId, new() { [a.MemberId] = [5] }, "instance-a");
        var (b, joinB) = await bed.JoinNew();
        var both = await bed.Join(a.MemberId, instanceId: "instance-a");
        var resultB = await joinB;
        var follower = both.Leader == b ? a.MemberId : b;
        await Task.WhenAll(
            bed.Sync(both.Leader, both.GenerationId, new() { [a.MemberId] = [5], [b] = [6] }, both.Leader == a.MemberId ? "instance-a" : null),
            bed.Sync(follower, both.GenerationId, instanceId: follower == a.MemberId ? "instance-a" : null));

        var restarted = await bed.Join("", instanceId: "instance-a");

        Assert.Equal(ErrorCode.None, restarted.Error);
        Assert.NotEqual(a.MemberId, restarted.MemberId);
        Assert.Equal(both.GenerationId, restarted.GenerationId);
        Assert.Equal(GroupState.Stable, bed.Coordinator.DescribeGroup("g").State);
        Assert.Equal(new byte[] { 5 }, (await bed.Sync(restarted.MemberId, both.GenerationId, instanceId: "instance-a")).Assignment);
        Assert.Equal(ErrorCode.FencedInstanceId, bed.Coordinator.Heartbeat("g", a.MemberId, "instance-a", both.GenerationId));
        Assert.Equal(ErrorCode.None, bed.Coordinator.Heartbeat("g", b, null, resultB.GenerationId));
    }

    [Fact]
    public async Task LeaveGroup_Batched_PerMemberErrorsAndRebalance()
    {
        var bed = new GroupTestBed();
        var (leader, follower, _) = await bed.StableGroupOfTwo();

        var result = bed.Coordinator.LeaveGroup("g", [new LeavingMember(follower, null), new LeavingMember("nobody", null), new LeavingMember("", "no-such-instance")]);

        Assert.Equal(ErrorCode.None, result.Error);
        Assert.Equal([ErrorCode.None, ErrorCode.UnknownMemberId, ErrorCode.UnknownMemberId], result.Members.Select(m => m.Error));
        Assert.Equal(GroupState.PreparingRebalance, bed.Coordinator.DescribeGroup("g").State);
        var rejoin = await bed.Join(leader);
        Assert.Single(rejoin.Members);
    }

    [Fact]
    public async Task LeaveGroup_StaticMemberWithWrongMemberId_Fenced()
    {
        var bed = new GroupTestBed();
        var a = await bed.Join("", instanceId: "i");

        var result = bed.Coordinator.LeaveGroup("g", [new LeavingMember("other-id", "i")]);

        Assert.Equal(ErrorCode.FencedInstanceId, result.Members[0].Error);
        Assert.Equal(ErrorCode.None, bed.Coordinator.LeaveGroup("g", [new LeavingMember("", "i")]).Members[0].Error);
        Assert.Equal(GroupState.Empty, bed.Coordinator.DescribeGroup("g").State);
        Assert.Equal(ErrorCode.None, a.Error);
    }

    [Fact]
    public async Task LeaveGroup_LastMember_GroupEmptyAndPersisted()
    {
        var bed = new GroupTestBed();
        var (a, join) = await bed.JoinNew();
        var result = await join;
        await bed.Sync(a, result.GenerationId, new() { [a] = [1] });

        bed.Coordinator.LeaveGroup("g", [new LeavingMember(a, null)]);

        Assert.Equal(GroupState.Empty, bed.Coordinator.DescribeGroup("g").State);
        var last = bed.Log.Records().Last();
        var value = GroupRecords.ReadGroupValue(last.Value!);
        Assert.Empty(value.Members);
        Assert.Equal(result.GenerationId + 1, value.Generation);
    }

    [Fact]
    public async Task JoinGroup_WaitCancelledAsBrokerStops_NotCoordinator()
    {
        var bed = new GroupTestBed(new GroupCoordinatorOptions { InitialRebalanceDelayMs = 3000 });
        var first = await bed.Join("");
        using var stopping = new CancellationTokenSource();
        var join = bed.Coordinator.JoinGroupAsync(
            new JoinGroupCall("g", first.MemberId, null, "client", "/127.0.0.1", 10_000, 30_000, GroupTestBed.ConsumerType, GroupTestBed.Protocols("range"), true),
            stopping.Token);
        Assert.False(join.IsCompleted);

        await stopping.CancelAsync();

        Assert.Equal(ErrorCode.NotCoordinator, (await join).Error);
    }
}
