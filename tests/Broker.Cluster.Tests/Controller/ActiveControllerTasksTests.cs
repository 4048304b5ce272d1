using Broker.Cluster.Controller;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Tests.Controller;

/// <summary>
/// The active controller's periodic duties on a manual clock: leader rebalance every
/// <c>leader.imbalance.check.interval.seconds</c>, unclean elections at their interval and on a config change, and
/// session fencing on every run.
/// </summary>
public sealed class ActiveControllerTasksTests
{
    private const int RebalanceSeconds = 3;
    private const long UncleanIntervalMs = 60_000;

    private static (ControllerFixture Fixture, ActiveControllerTasks Tasks) Create(bool autoRebalance = true, bool uncleanDefault = false, params int[] brokers)
    {
        var options = new LeaderElectionOptions(autoRebalance, RebalanceSeconds, 10, uncleanDefault, UncleanIntervalMs);
        var fixture = ControllerFixture.WithRackedBrokers(options, [.. brokers.Select(id => (id, (string?)null))]);
        return (fixture, new ActiveControllerTasks(fixture.Lifecycle, fixture.Elections, fixture.Store, fixture.Clock));
    }

    private static void SetLeader(ControllerFixture fixture, string topic, int leader) =>
        fixture.Commit(new PartitionChangeRecord { TopicId = fixture.Image.TopicsByName[topic].TopicId, PartitionId = 0, Leader = leader });

    private static void Fence(ControllerFixture fixture, int broker) =>
        fixture.Commit(new BrokerRegistrationChangeRecord { BrokerId = broker, BrokerEpoch = fixture.Broker(broker).Epoch, Fenced = 1 });

    /// <summary>Partition 0 of "t" ([1, 2]) with ISR [1] only, then 1 fenced and the partition offline: 2 is live but out
    /// of sync. Raw records, so no election runs on the way.</summary>
    private static void MakeOffline(ControllerFixture fixture, bool create = true)
    {
        if (create)
        {
            fixture.CreateTopic("t", [[1, 2]]);
        }

        fixture.SetIsr("t", 0, 1);
        Fence(fixture, 1);
        SetLeader(fixture, "t", -1);
    }

    [Fact]
    public async Task RunDueAsync_PreferredLeaderInIsrButNotLeading_MovedBackOnceTheIntervalPassed()
    {
        var (fixture, tasks) = Create(brokers: [1, 2, 3]);
        fixture.CreateTopic("t", [[1, 2, 3]]);
        SetLeader(fixture, "t", 2);

        Assert.Equal(0, (await tasks.RunDueAsync(CancellationToken.None)).Rebalanced);
        fixture.Clock.Advance(RebalanceSeconds * 1000 - 1);
        Assert.Equal(0, (await tasks.RunDueAsync(CancellationToken.None)).Rebalanced);
        Assert.Equal(2, fixture.Partition("t").Leader);

        fixture.Clock.Advance(1);
        var result = await tasks.RunDueAsync(CancellationToken.None);

        Assert.Equal(1, result.Rebalanced);
        Assert.Equal(1, fixture.Partition("t").Leader);
    }

    [Fact]
    public async Task RunDueAsync_AutoRebalanceDisabled_LeaderStays()
    {
        var (fixture, tasks) = Create(autoRebalance: false, brokers: [1, 2]);
        fixture.CreateTopic("t", [[1, 2]]);
        SetLeader(fixture, "t", 2);

        await tasks.RunDueAsync(CancellationToken.None);
        fixture.Clock.Advance(RebalanceSeconds * 1000);
        var result = await tasks.RunDueAsync(CancellationToken.None);

        Assert.Equal(0, result.Rebalanced);
        Assert.Equal(2, fixture.Partition("t").Leader);
    }

    [Fact]
    public async Task RunDueAsync_Deactivated_IntervalCountsFromTheNextActivation()
    {
        var (fixture, tasks) = Create(brokers: [1, 2]);
        fixture.CreateTopic("t", [[1, 2]]);
        SetLeader(fixture, "t", 2);
        await tasks.RunDueAsync(CancellationToken.None);
        fixture.Clock.Advance(RebalanceSeconds * 1000 - 1);

        tasks.Deactivate();
        Assert.False(tasks.IsActive);
        Assert.Equal(0, (await tasks.RunDueAsync(CancellationToken.None)).Rebalanced);
        fixture.Clock.Advance(1);
        Assert.Equal(0, (await tasks.RunDueAsync(CancellationToken.None)).Rebalanced);
        Assert.Equal(2, fixture.Partition("t").Leader);

        fixture.Clock.Advance(RebalanceSeconds * 1000);
        Assert.Equal(1, (await tasks.RunDueAsync(CancellationToken.None)).Rebalanced);
    }

    [Fact]
    public async Task RunDueAsync_UncleanDisabled_OfflinePartitionStaysOfflinePastTheInterval()
    {
        var (fixture, tasks) = Create(brokers: [1, 2]);
        MakeOffline(fixture);

        await tasks.RunDueAsync(CancellationToken.None);
        fixture.Clock.Advance(UncleanIntervalMs);
        var result = await tasks.RunDueAsync(CancellationToken.None);

        Assert.Equal(0, result.UncleanElected);
        Assert.Equal(-1, fixture.Partition("t").Leader);
    }

    [Fact]
    public async Task RunDueAsync_UncleanTurnedOnForTheTopic_ElectsAtOnceWithoutWaitingForTheInterval()
    {
        var (fixture, tasks) = Create(brokers: [1, 2]);
        MakeOffline(fixture);
        await tasks.RunDueAsync(CancellationToken.None);

        fixture.Commit(new ConfigRecord { ResourceType = 2, ResourceName = "t", Name = "unclean.leader.election.enable", Value = "true" });
        var result = await tasks.RunDueAsync(CancellationToken.None);

        Assert.Equal(1, result.UncleanElected);
        var partition = fixture.Partition("t");
        Assert.Equal(2, partition.Leader);
        Assert.Equal(new[] { 2 }, partition.Isr.ToArray());
        Assert.Equal(1, partition.LeaderRecoveryState);
    }

    [Fact]
    public async Task RunDueAsync_UncleanByBrokerDefaultAndPartitionGoesOffline_ElectsWhenTheIntervalPasses()
    {
        var (fixture, tasks) = Create(uncleanDefault: true, brokers: [1, 2]);
        fixture.CreateTopic("t", [[1, 2]]);
        await tasks.RunDueAsync(CancellationToken.None);

        // Offline with the setting unchanged: not a config change, so the periodic check is what elects.
        MakeOffline(fixture, create: false);
        Assert.Equal(0, (await tasks.RunDueAsync(CancellationToken.None)).UncleanElected);
        Assert.Equal(-1, fixture.Partition("t").Leader);

        fixture.Clock.Advance(UncleanIntervalMs);
        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, fixture.Broker(2).Epoch, fixture.Image.Offset, false, false), CancellationToken.None);
        var result = await tasks.RunDueAsync(CancellationToken.None);

        Assert.Equal(1, result.UncleanElected);
        Assert.Equal(2, fixture.Partition("t").Leader);
    }

    [Fact]
    public async Task RunDueAsync_BrokerSilentPastTheSessionTimeout_Fenced()
    {
        var (fixture, tasks) = Create(brokers: [1, 2]);
        await tasks.RunDueAsync(CancellationToken.None);
        fixture.Clock.Advance(8_000);
        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(2, fixture.Broker(2).Epoch, fixture.Image.Offset, false, false), CancellationToken.None);
        fixture.Clock.Advance(1_001);

        var result = await tasks.RunDueAsync(CancellationToken.None);

        Assert.Equal([1], result.Fenced);
        Assert.True(fixture.Broker(1).Fenced);
        Assert.False(fixture.Broker(2).Fenced);
    }

    [Fact]
    public async Task RunDueAsync_ActiveAgainAfterAnotherControllersTerm_SessionsStartAfreshNobodyFencedAtOnce()
    {
        var (fixture, tasks) = Create(brokers: [1, 2]);
        await tasks.RunDueAsync(CancellationToken.None);

        // Another node led the quorum for a while: the brokers heartbeated to it, not to this lifecycle.
        tasks.Deactivate();
        fixture.Clock.Advance(30_000);
        var again = await tasks.RunDueAsync(CancellationToken.None);

        Assert.Empty(again.Fenced);
        Assert.False(fixture.Broker(1).Fenced);
        Assert.False(fixture.Broker(2).Fenced);

        // The fresh sessions still expire if the brokers stay silent towards this controller.
        fixture.Clock.Advance(9_001);
        Assert.Equal([1, 2], (await tasks.RunDueAsync(CancellationToken.None)).Fenced);
    }
}
