using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;

namespace Broker.Cluster.Tests.Controller;

/// <summary>Registration, heartbeats, session expiry, controlled shutdown and unregistration at the controller.</summary>
public sealed class BrokerLifecycleTests
{
    private static readonly Guid Incarnation = new("11111111-1111-1111-1111-111111111111");

    private static BrokerRegistrationRequestInfo Registration(int id, Guid incarnation, string clusterId = ControllerFixture.ClusterId, string? rack = null) =>
        new(id, clusterId, incarnation, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9190 + id, 0)], [("metadata.version", 1, 25)], rack);

    private static async Task<long> RegisterAndUnfenceAsync(ControllerFixture fixture, int id, Guid incarnation)
    {
        var registered = await fixture.Lifecycle.RegisterAsync(Registration(id, incarnation), CancellationToken.None);
        Assert.Equal(ErrorCode.None, registered.Error);
        var beat = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(id, registered.BrokerEpoch, fixture.Image.Offset, false, false), CancellationToken.None);
        Assert.False(beat.IsFenced);
        return registered.BrokerEpoch;
    }

    [Fact]
    public async Task Register_NewBroker_WritesFencedRegistrationWhoseEpochIsItsOffset()
    {
        var fixture = ControllerFixture.WithBrokers(1);

        var result = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation, rack: "r2"), CancellationToken.None);

        Assert.Equal(ErrorCode.None, result.Error);
        var broker = fixture.Broker(2);
        Assert.Equal(fixture.Image.Offset, result.BrokerEpoch);
        Assert.Equal(result.BrokerEpoch, broker.Epoch);
        Assert.True(broker.Fenced);
        Assert.Equal("r2", broker.Rack);
        Assert.Equal(Incarnation, broker.IncarnationId);
        Assert.Equal(9192, broker.EndpointFor("PLAINTEXT")!.Port);
    }

    [Fact]
    public async Task Register_SameIncarnationAgain_KeepsEpochAndWritesNothing()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var first = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation), CancellationToken.None);
        var offset = fixture.Image.Offset;

        var again = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation), CancellationToken.None);

        Assert.Equal(first.BrokerEpoch, again.BrokerEpoch);
        Assert.Equal(offset, fixture.Image.Offset);
    }

    [Fact]
    public async Task Register_NewIncarnationWhileSessionLive_DuplicateBrokerRegistration()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        await RegisterAndUnfenceAsync(fixture, 2, Incarnation);

        var result = await fixture.Lifecycle.RegisterAsync(Registration(2, Guid.NewGuid()), CancellationToken.None);

        Assert.Equal(ErrorCode.DuplicateBrokerRegistration, result.Error);
    }

    [Fact]
    public async Task Register_NewIncarnationAfterSessionExpired_BumpsEpochFencesAndMovesLeadership()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var oldEpoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        fixture.CreateTopic("t", [[2, 1]]);
        fixture.Clock.Advance(9001);

        var result = await fixture.Lifecycle.RegisterAsync(Registration(2, Guid.NewGuid()), CancellationToken.None);

        Assert.Equal(ErrorCode.None, result.Error);
        Assert.True(result.BrokerEpoch > oldEpoch);
        Assert.True(fixture.Broker(2).Fenced);
        Assert.Equal(1, fixture.Partition("t").Leader);
        Assert.Equal([1], fixture.Partition("t").Isr.ToArray());
    }

    [Fact]
    public async Task Register_OtherClusterId_InconsistentClusterId()
    {
        var fixture = ControllerFixture.WithBrokers(1);

        var result = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation, clusterId: "someone-else"), CancellationToken.None);

        Assert.Equal(ErrorCode.InconsistentClusterId, result.Error);
        Assert.False(fixture.Image.Brokers.ContainsKey(2));
    }

    [Fact]
    public async Task Register_FinalizedMetadataVersionOutsideBrokerRange_UnsupportedVersion()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        fixture.Commit(new Protocol.Metadata.FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 25 });

        var tooOld = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation) with { Features = [("metadata.version", 1, 24)] }, CancellationToken.None);
        var undeclared = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation) with { Features = [] }, CancellationToken.None);
        var fine = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation), CancellationToken.None);

        Assert.Equal(ErrorCode.UnsupportedVersion, tooOld.Error);
        Assert.Equal(ErrorCode.UnsupportedVersion, undeclared.Error);
        Assert.Equal(ErrorCode.None, fine.Error);
    }

    [Fact]
    public async Task Register_DynamicQuorum_BrokerMustDeclareKRaftVersionOne()
    {
        // kraft.version comes from the Raft log, not the image: Kafka's controller adds its Raft client's level.
        var fixture = ControllerFixture.WithBrokers(1);
        fixture.Commit(new Protocol.Metadata.FeatureLevelRecord { Name = "metadata.version", FeatureLevel = 25 });
        var lifecycle = new BrokerLifecycle(fixture.Topics, new BrokerLifecycleOptions(fixture.Clock) { KRaftVersion = () => 1 });

        var undeclared = await lifecycle.RegisterAsync(Registration(2, Incarnation) with { Features = [("metadata.version", 25, 25)] }, CancellationToken.None);
        var tooOld = await lifecycle.RegisterAsync(Registration(2, Incarnation) with { Features = [("metadata.version", 25, 25), ("kraft.version", 0, 0)] },
            CancellationToken.None);
        var fine = await lifecycle.RegisterAsync(Registration(2, Incarnation) with { Features = [("metadata.version", 25, 25), ("kraft.version", 0, 1)] },
            CancellationToken.None);

        Assert.Equal(ErrorCode.UnsupportedVersion, undeclared.Error);
        Assert.Contains("finalized version 1 of kraft.version", undeclared.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.UnsupportedVersion, tooOld.Error);
        Assert.Equal(ErrorCode.None, fine.Error);
        Assert.True(fixture.Broker(2).Fenced);
    }

    [Fact]
    public async Task Register_StaticQuorum_KRaftVersionZeroMustBeInADeclaredRange_UndeclaredIsFine()
    {
        var fixture = ControllerFixture.WithBrokers(1);

        var onlyOne = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation) with { Features = [("kraft.version", 1, 1)] }, CancellationToken.None);
        var undeclared = await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation) with { Features = [] }, CancellationToken.None);

        // As Kafka's controller: a declared feature that is not finalized counts as level 0, and 0 is not in 1..1.
        Assert.Equal(ErrorCode.UnsupportedVersion, onlyOne.Error);
        Assert.Contains("finalized version 0 of kraft.version", onlyOne.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.None, undeclared.Error);
    }

    [Fact]
    public async Task Heartbeat_FencedBrokerNotCaughtUp_StaysFenced_ThenCaughtUpUnfences()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = (await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation), CancellationToken.None)).BrokerEpoch;

        var behind = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, epoch - 1, false, false), CancellationToken.None);
        Assert.Equal(new BrokerHeartbeatResult(ErrorCode.None, false, true, false), behind);
        Assert.True(fixture.Broker(2).Fenced);

        var caughtUp = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, epoch, false, false), CancellationToken.None);

        Assert.Equal(new BrokerHeartbeatResult(ErrorCode.None, true, false, false), caughtUp);
        Assert.False(fixture.Broker(2).Fenced);
    }

    [Fact]
    public async Task Heartbeat_StaleEpochOrUnknownBroker_StaleBrokerEpoch()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);

        var stale = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch - 1, 100, false, false), CancellationToken.None);
        var unknown = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(9, 0, 100, false, false), CancellationToken.None);

        Assert.Equal(ErrorCode.StaleBrokerEpoch, stale.Error);
        Assert.Equal(ErrorCode.StaleBrokerEpoch, unknown.Error);
    }

    [Fact]
    public async Task FenceExpiredSessions_AfterSessionTimeout_FencesAndElectsNextIsrMember()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        await RegisterAndUnfenceAsync(fixture, 3, Guid.NewGuid());
        fixture.CreateTopic("t", [[2, 3, 1], [1, 2, 3]]);
        await fixture.Lifecycle.FenceExpiredSessionsAsync(CancellationToken.None); // broker 1 gets a session from now
        var before = fixture.Partition("t");

        fixture.Clock.Advance(9000);
        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(1, fixture.Broker(1).Epoch, fixture.Image.Offset, false, false), CancellationToken.None);
        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(3, fixture.Broker(3).Epoch, fixture.Image.Offset, false, false), CancellationToken.None);
        Assert.Empty(await fixture.Lifecycle.FenceExpiredSessionsAsync(CancellationToken.None)); // exactly at the timeout: still alive
        fixture.Clock.Advance(1);
        var fenced = await fixture.Lifecycle.FenceExpiredSessionsAsync(CancellationToken.None);

        Assert.Equal([2], fenced);
        Assert.True(fixture.Broker(2).Fenced);
        var led = fixture.Partition("t");
        Assert.Equal(3, led.Leader);
        Assert.Equal(before.LeaderEpoch + 1, led.LeaderEpoch);
        Assert.Equal([3, 1], led.Isr.ToArray());
        var followed = fixture.Partition("t", 1);
        Assert.Equal(1, followed.Leader);
        Assert.Equal([1, 3], followed.Isr.ToArray());
    }

    [Fact]
    public async Task Fence_OnlyIsrMember_PartitionOffline_ThenUnfenceElectsItAgain()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        fixture.CreateTopic("t", [[2, 1]]);
        fixture.SetIsr("t", 0, 2);

        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, fixture.Image.Offset, WantFence: true, false), CancellationToken.None);
        var offline = fixture.Partition("t");
        Assert.Equal(-1, offline.Leader);
        Assert.Equal([2], offline.Isr.ToArray()); // the last ISR member stays: no ELR, no unclean election

        var back = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, fixture.Image.Offset, false, false), CancellationToken.None);

        Assert.False(back.IsFenced);
        var online = fixture.Partition("t");
        Assert.Equal(2, online.Leader);
        Assert.Equal(offline.LeaderEpoch + 1, online.LeaderEpoch);
    }

    [Fact]
    public async Task Fence_UncleanElectionEnabledOnTopic_LiveOutOfSyncReplicaLeads()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        fixture.CreateTopic("clean", [[2, 1]]);
        fixture.CreateTopic("unclean", [[2, 1]], new Dictionary<string, string?> { ["unclean.leader.election.enable"] = "true" });
        fixture.SetIsr("clean", 0, 2);
        fixture.SetIsr("unclean", 0, 2);

        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, fixture.Image.Offset, WantFence: true, false), CancellationToken.None);

        Assert.Equal(-1, fixture.Partition("clean").Leader);
        var unclean = fixture.Partition("unclean");
        Assert.Equal(1, unclean.Leader);
        Assert.Equal([1], unclean.Isr.ToArray());
        Assert.Equal(1, unclean.LeaderRecoveryState);
    }

    [Fact]
    public async Task Heartbeat_WantShutDown_LeadershipMovedFirst_ShutdownGrantedOnceEveryLiveBrokerCaughtUp()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        fixture.CreateTopic("t", [[2, 1]]);
        var offset = fixture.Image.Offset;
        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(1, fixture.Broker(1).Epoch, offset, false, false), CancellationToken.None);

        var first = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, offset, false, WantShutDown: true), CancellationToken.None);

        Assert.False(first.ShouldShutDown);
        Assert.True(fixture.Broker(2).InControlledShutdown);
        Assert.False(fixture.Broker(2).Fenced);
        Assert.Equal(1, fixture.Partition("t").Leader);
        Assert.Equal([1], fixture.Partition("t").Isr.ToArray());

        // Broker 1, the new leader, has not yet reported the offset that made it leader: not yet.
        var moved = fixture.Image.Offset;
        var second = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, moved, false, WantShutDown: true), CancellationToken.None);
        Assert.False(second.ShouldShutDown);

        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(1, fixture.Broker(1).Epoch, moved, false, false), CancellationToken.None);
        var third = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, moved, false, WantShutDown: true), CancellationToken.None);

        Assert.True(third.ShouldShutDown);
        Assert.True(fixture.Broker(2).Fenced);
    }

    [Fact]
    public async Task Heartbeat_WantShutDownLeadingNothing_ShutdownGrantedAtOnce()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        fixture.CreateTopic("t", [[1, 2]]);

        var result = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, fixture.Image.Offset, false, WantShutDown: true), CancellationToken.None);

        Assert.True(result.ShouldShutDown);
        Assert.True(fixture.Broker(2).Fenced);
        Assert.Equal([1], fixture.Partition("t").Isr.ToArray());
    }

    [Fact]
    public async Task Heartbeat_AfterShutdownGranted_StaysFencedUntilANewIncarnationRegisters()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        Assert.True((await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, fixture.Image.Offset, false, WantShutDown: true), CancellationToken.None)).ShouldShutDown);

        var late = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, fixture.Image.Offset, false, false), CancellationToken.None);
        Assert.True(late.IsFenced);
        Assert.True(late.ShouldShutDown);

        var restarted = await RegisterAndUnfenceAsync(fixture, 2, Guid.NewGuid());

        Assert.True(restarted > epoch);
        Assert.False(fixture.Broker(2).InControlledShutdown);
        Assert.False(fixture.Broker(2).Fenced);
    }

    [Fact]
    public async Task Heartbeat_WantShutDownWhileFenced_ShutdownGrantedAtOnce()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = (await fixture.Lifecycle.RegisterAsync(Registration(2, Incarnation), CancellationToken.None)).BrokerEpoch;

        var result = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, 0, false, WantShutDown: true), CancellationToken.None);

        Assert.True(result.ShouldShutDown);
        Assert.True(result.IsFenced);
    }

    [Fact]
    public async Task Unregister_RemovesRegistrationAfterMovingLeadership()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        fixture.CreateTopic("t", [[2, 1]]);

        var result = await fixture.Lifecycle.UnregisterAsync(2, CancellationToken.None);

        Assert.Equal(ErrorCode.None, result);
        Assert.False(fixture.Image.Brokers.ContainsKey(2));
        Assert.Equal(1, fixture.Partition("t").Leader);
        Assert.Equal([1], fixture.Partition("t").Isr.ToArray());
    }

    [Fact]
    public async Task Unregister_UnknownBroker_BrokerIdNotRegistered()
    {
        var fixture = ControllerFixture.WithBrokers(1);

        Assert.Equal(ErrorCode.BrokerIdNotRegistered, await fixture.Lifecycle.UnregisterAsync(7, CancellationToken.None));
    }

    [Fact]
    public async Task AlterPartition_BrokerInControlledShutdown_CannotJoinTheIsr()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        var epoch = await RegisterAndUnfenceAsync(fixture, 2, Incarnation);
        var topicId = fixture.CreateTopic("t", [[1, 2]]);
        fixture.CreateTopic("led", [[2, 1]]); // so that the shutdown has leaderships to move and takes a while
        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, epoch, fixture.Image.Offset, false, WantShutDown: true), CancellationToken.None);
        var partition = fixture.Partition("t");

        Assert.True(fixture.Broker(2).InControlledShutdown);
        Assert.False(fixture.Broker(2).Fenced);

        var result = await fixture.Topics.AlterPartitionAsync(
            new AlterIsrRequest(topicId, 0, 1, partition.LeaderEpoch, partition.PartitionEpoch, [1, 2]), CancellationToken.None);

        Assert.Equal(ErrorCode.IneligibleReplica, result.Error);
    }
}
