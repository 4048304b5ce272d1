using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Tests.Controller;

/// <summary>ElectLeaders (PREFERRED / UNCLEAN) and the periodic leader-imbalance rebalance.</summary>
public sealed class LeaderElectionsTests
{
    private static void Fence(ControllerFixture fixture, int broker) =>
        fixture.Commit(new BrokerRegistrationChangeRecord { BrokerId = broker, BrokerEpoch = fixture.Broker(broker).Epoch, Fenced = 1 });

    private static void Unfence(ControllerFixture fixture, int broker) =>
        fixture.Commit(new BrokerRegistrationChangeRecord { BrokerId = broker, BrokerEpoch = fixture.Broker(broker).Epoch, Fenced = -1 });

    private static void SetLeader(ControllerFixture fixture, string topic, int partition, int leader) =>
        fixture.Commit(new PartitionChangeRecord { TopicId = fixture.Image.TopicsByName[topic].TopicId, PartitionId = partition, Leader = leader });

    [Fact]
    public async Task ElectLeaders_PreferredInIsrButNotLeading_PreferredLeadsWithNewEpoch()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);
        SetLeader(fixture, "t", 0, 2);
        var before = fixture.Partition("t");

        var results = await fixture.Elections.ElectLeadersAsync(ElectionKind.Preferred, [("t", 0)], CancellationToken.None);

        Assert.Equal(new PartitionElectionResult("t", 0, ErrorCode.None, null), Assert.Single(results));
        Assert.Equal(1, fixture.Partition("t").Leader);
        Assert.Equal(before.LeaderEpoch + 1, fixture.Partition("t").LeaderEpoch);
    }

    [Fact]
    public async Task ElectLeaders_PreferredAlreadyLeads_ElectionNotNeeded()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);

        var result = Assert.Single(await fixture.Elections.ElectLeadersAsync(ElectionKind.Preferred, [("t", 0)], CancellationToken.None));

        Assert.Equal(ErrorCode.ElectionNotNeeded, result.Error);
    }

    [Fact]
    public async Task ElectLeaders_PreferredOutOfIsrOrFenced_PreferredLeaderNotAvailable()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("t", [[1, 2], [3, 2]]);
        SetLeader(fixture, "t", 0, 2);
        fixture.SetIsr("t", 0, 2);
        SetLeader(fixture, "t", 1, 2);
        Fence(fixture, 3);
        var offset = fixture.Image.Offset;

        var results = await fixture.Elections.ElectLeadersAsync(ElectionKind.Preferred, [("t", 0), ("t", 1)], CancellationToken.None);

        Assert.All(results, r => Assert.Equal(ErrorCode.PreferredLeaderNotAvailable, r.Error));
        Assert.Equal(offset, fixture.Image.Offset);
    }

    [Fact]
    public async Task ElectLeaders_UnknownTopicOrPartition_Reported()
    {
        var fixture = ControllerFixture.WithBrokers(1);
        fixture.CreateTopic("t", [[1]]);

        var results = await fixture.Elections.ElectLeadersAsync(ElectionKind.Preferred, [("nope", 0), ("t", 3)], CancellationToken.None);

        Assert.All(results, r => Assert.Equal(ErrorCode.UnknownTopicOrPartition, r.Error));
        Assert.Equal(2, results.Count);
    }

    [Fact]
    public async Task ElectLeaders_UncleanOnPartitionWithLeader_ElectionNotNeeded()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);

        var result = Assert.Single(await fixture.Elections.ElectLeadersAsync(ElectionKind.Unclean, [("t", 0)], CancellationToken.None));

        Assert.Equal(ErrorCode.ElectionNotNeeded, result.Error);
    }

    [Fact]
    public async Task ElectLeaders_UncleanOnOfflinePartition_LiveOutOfSyncReplicaLeads()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);
        fixture.SetIsr("t", 0, 1);
        Fence(fixture, 1);
        SetLeader(fixture, "t", 0, -1);

        var result = Assert.Single(await fixture.Elections.ElectLeadersAsync(ElectionKind.Unclean, [("t", 0)], CancellationToken.None));

        Assert.Equal(ErrorCode.None, result.Error);
        Assert.Equal(2, fixture.Partition("t").Leader);
        Assert.Equal([2], fixture.Partition("t").Isr.ToArray());
    }

    [Fact]
    public async Task ElectLeaders_UncleanWithNoLiveReplica_EligibleLeadersNotAvailable()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);
        Fence(fixture, 1);
        Fence(fixture, 2);
        SetLeader(fixture, "t", 0, -1);

        var result = Assert.Single(await fixture.Elections.ElectLeadersAsync(ElectionKind.Unclean, [("t", 0)], CancellationToken.None));

        Assert.Equal(ErrorCode.EligibleLeadersNotAvailable, result.Error);
    }

    [Fact]
    public async Task ElectLeaders_AllPartitions_ReportsOnlyThoseThatNeededAnElection()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("a", [[1, 2], [2, 1]]);
        fixture.CreateTopic("b", [[2, 1]]);
        SetLeader(fixture, "a", 1, 1);

        var results = await fixture.Elections.ElectLeadersAsync(ElectionKind.Preferred, null, CancellationToken.None);

        Assert.Equal(new PartitionElectionResult("a", 1, ErrorCode.None, null), Assert.Single(results));
        Assert.Equal(2, fixture.Partition("a", 1).Leader);
    }

    [Fact]
    public async Task Rebalance_ImbalanceAboveThreshold_PreferredLeadersReturn()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2], [1, 2], [2, 1], [2, 1]]);
        Fence(fixture, 1);
        SetLeader(fixture, "t", 0, 2);
        SetLeader(fixture, "t", 1, 2);
        Unfence(fixture, 1);

        var moved = await fixture.Elections.RebalanceAsync(CancellationToken.None);

        Assert.Equal(2, moved);
        Assert.Equal([1, 1, 2, 2], fixture.Image.TopicsByName["t"].Partitions.Select(p => p.Leader));
    }

    [Fact]
    public async Task Rebalance_ImbalanceAtThreshold_NothingMoves()
    {
        // Broker 1 prefers 10 partitions and leads 9 of them: 10 % imbalance, not above the default 10 %.
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [.. Enumerable.Range(0, 10).Select(_ => new[] { 1, 2 })]);
        SetLeader(fixture, "t", 0, 2);

        Assert.Equal(0, await fixture.Elections.RebalanceAsync(CancellationToken.None));
        Assert.Equal(2, fixture.Partition("t").Leader);
    }

    [Fact]
    public async Task Rebalance_PreferredOutOfIsr_LeftAlone()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);
        SetLeader(fixture, "t", 0, 2);
        fixture.SetIsr("t", 0, 2);

        Assert.Equal(0, await fixture.Elections.RebalanceAsync(CancellationToken.None));
        Assert.Equal(2, fixture.Partition("t").Leader);
    }

    [Fact]
    public async Task Rebalance_AutoLeaderRebalanceDisabled_NothingMoves()
    {
        var fixture = ControllerFixture.WithRackedBrokers(new LeaderElectionOptions(AutoLeaderRebalanceEnable: false), (1, null), (2, null));
        fixture.CreateTopic("t", [[1, 2]]);
        SetLeader(fixture, "t", 0, 2);

        Assert.Equal(0, await fixture.Elections.RebalanceAsync(CancellationToken.None));
        Assert.Equal(2, fixture.Partition("t").Leader);
    }

    [Fact]
    public void Options_Defaults_AreKafkas()
    {
        var options = new LeaderElectionOptions();

        Assert.True(options.AutoLeaderRebalanceEnable);
        Assert.Equal(TimeSpan.FromSeconds(300), options.CheckInterval);
        Assert.Equal(10, options.LeaderImbalancePerBrokerPercentage);
        Assert.False(options.UncleanLeaderElectionDefault);
    }
}
