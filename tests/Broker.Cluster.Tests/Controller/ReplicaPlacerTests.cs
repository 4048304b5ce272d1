using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;

namespace Broker.Cluster.Tests.Controller;

/// <summary>Rack-aware striped placement: racks spread, leaders spread, fenced brokers skipped, Kafka's errors.</summary>
public sealed class ReplicaPlacerTests
{
    private static BrokerInfo Broker(int id, string? rack, bool fenced = false, bool shuttingDown = false) =>
        new(id, [], rack, fenced) { InControlledShutdown = shuttingDown };

    private static BrokerInfo[] SixBrokersThreeRacks() =>
        [Broker(1, "a"), Broker(2, "a"), Broker(3, "b"), Broker(4, "b"), Broker(5, "c"), Broker(6, "c")];

    private static List<int[]> Place(IEnumerable<BrokerInfo> brokers, int partitions, int replicationFactor, int seed = 7)
    {
        var error = ReplicaPlacer.TryPlace(brokers, partitions, replicationFactor, new Random(seed), out var assignment);
        Assert.Null(error);
        Assert.Equal(partitions, assignment.Count);
        return assignment;
    }

    [Fact]
    public void TryPlace_ThreeRacksReplicationFactorThree_EachPartitionOnThreeDistinctRacks()
    {
        var brokers = SixBrokersThreeRacks();
        var rackOf = brokers.ToDictionary(b => b.NodeId, b => b.Rack);

        foreach (var replicas in Place(brokers, 30, 3))
        {
            Assert.Equal(3, replicas.Distinct().Count());
            Assert.Equal(3, replicas.Select(r => rackOf[r]).Distinct().Count());
        }
    }

    [Fact]
    public void TryPlace_MoreReplicasThanRacks_EveryRackUsedBeforeOneRepeats()
    {
        BrokerInfo[] brokers = [Broker(1, "a"), Broker(2, "a"), Broker(3, "a"), Broker(4, "b"), Broker(5, "b")];
        var rackOf = brokers.ToDictionary(b => b.NodeId, b => b.Rack);

        foreach (var replicas in Place(brokers, 20, 3))
        {
            Assert.Equal(3, replicas.Distinct().Count());
            Assert.Equal(2, replicas.Select(r => rackOf[r]).Distinct().Count());
        }
    }

    [Fact]
    public void TryPlace_PartitionsAMultipleOfBrokers_EveryBrokerLeadsEqually()
    {
        var leaders = Place(SixBrokersThreeRacks(), 24, 2).GroupBy(r => r[0]).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(6, leaders.Count);
        Assert.All(leaders.Values, count => Assert.Equal(4, count));
    }

    [Fact]
    public void TryPlace_ReplicasSpreadOverBrokers_NoBrokerHoldsMoreThanItsShare()
    {
        var load = Place(SixBrokersThreeRacks(), 60, 3).SelectMany(r => r).GroupBy(b => b).ToDictionary(g => g.Key, g => g.Count());

        // 180 replicas over 6 brokers: 30 each when perfectly even; allow a small skew from the reshuffles.
        Assert.All(load.Values, count => Assert.InRange(count, 25, 35));
    }

    [Fact]
    public void TryPlace_WithoutRacks_DistinctBrokersAndRotatingLeaders()
    {
        var assignment = Place([Broker(1, null), Broker(2, null), Broker(3, null)], 6, 3);

        Assert.All(assignment, replicas => Assert.Equal(3, replicas.Distinct().Count()));
        Assert.All(assignment.GroupBy(r => r[0]), g => Assert.Equal(2, g.Count()));
    }

    [Fact]
    public void TryPlace_FencedAndShuttingDownBrokers_AreNeverChosen()
    {
        BrokerInfo[] brokers = [Broker(1, "a"), Broker(2, "a", fenced: true), Broker(3, "b"), Broker(4, "b", shuttingDown: true), Broker(5, "c")];

        var used = Place(brokers, 30, 3).SelectMany(r => r).ToHashSet();

        Assert.Equal([1, 3, 5], used.Order());
    }

    [Fact]
    public void TryPlace_MoreReplicasThanUnfencedBrokers_InvalidReplicationFactorMessage()
    {
        BrokerInfo[] brokers = [Broker(1, "a"), Broker(2, "b", fenced: true), Broker(3, "c")];

        var error = ReplicaPlacer.TryPlace(brokers, 1, 3, new Random(1), out var assignment);

        Assert.Equal("Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 broker(s) are registered.", error);
        Assert.Empty(assignment);
    }

    [Fact]
    public void TryPlace_AllBrokersFenced_RefusedAsKafkaDoes()
    {
        var error = ReplicaPlacer.TryPlace([Broker(1, "a", fenced: true)], 1, 1, new Random(1), out _);

        Assert.Equal("All brokers are currently fenced.", error);
    }

    [Fact]
    public void TryPlace_NonPositiveReplicationFactor_Refused()
    {
        Assert.NotNull(ReplicaPlacer.TryPlace(SixBrokersThreeRacks(), 1, 0, new Random(1), out _));
    }

    [Fact]
    public void TryPlace_SameSeed_SameAssignment_OtherSeed_OtherOrder()
    {
        var first = Place(SixBrokersThreeRacks(), 12, 3, seed: 3);
        var again = Place(SixBrokersThreeRacks(), 12, 3, seed: 3);
        var other = Enumerable.Range(100, 10).Select(seed => Place(SixBrokersThreeRacks(), 12, 3, seed)).ToList();

        Assert.Equal(first, again);
        Assert.Contains(other, o => !o.SequenceEqual(first, ArrayComparer.Instance));
    }

    [Fact]
    public async Task CreateTopics_RackedBrokers_PlacementSpreadsRacks()
    {
        var fixture = ControllerFixture.WithRackedBrokers(null, (1, "a"), (2, "a"), (3, "b"), (4, "b"));

        var result = await fixture.Topics.CreateTopicsAsync([new NewTopic("t", 8, 2, null, new Dictionary<string, string?>())], false, CancellationToken.None);

        Assert.Equal(ErrorCode.None, Assert.Single(result).Error);
        var rackOf = fixture.Image.Brokers.ToDictionary(b => b.Key, b => b.Value.Rack);
        Assert.All(fixture.Image.TopicsByName["t"].Partitions, p =>
        {
            Assert.Equal(2, p.Replicas.Select(r => rackOf[r]).Distinct().Count());
            Assert.Equal(p.Replicas[0], p.Leader);
            Assert.Equal(p.Replicas.ToArray(), p.Isr.ToArray());
        });
    }

    [Fact]
    public async Task CreateTopicsAndPartitions_TooFewUnfencedBrokers_InvalidReplicationFactor()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("grow", [[1, 2, 3]]);
        fixture.Commit(new Protocol.Metadata.BrokerRegistrationChangeRecord { BrokerId = 3, BrokerEpoch = fixture.Broker(3).Epoch, Fenced = 1 });

        var created = await fixture.Topics.CreateTopicsAsync([new NewTopic("t", 1, 3, null, new Dictionary<string, string?>())], false, CancellationToken.None);
        var grown = await fixture.Topics.CreatePartitionsAsync([new NewPartitions("grow", 2, null)], false, CancellationToken.None);

        Assert.Equal(ErrorCode.InvalidReplicationFactor, Assert.Single(created).Error);
        Assert.Equal(ErrorCode.InvalidReplicationFactor, Assert.Single(grown).Error);
    }

    [Fact]
    public async Task CreatePartitions_NewPartitionsPlacedOnUnfencedBrokersOnly()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("grow", [[1, 2]]);
        fixture.Commit(new Protocol.Metadata.BrokerRegistrationChangeRecord { BrokerId = 2, BrokerEpoch = fixture.Broker(2).Epoch, Fenced = 1 });

        var grown = await fixture.Topics.CreatePartitionsAsync([new NewPartitions("grow", 5, null)], false, CancellationToken.None);

        Assert.Equal(ErrorCode.None, Assert.Single(grown).Error);
        var added = fixture.Image.TopicsByName["grow"].Partitions.Skip(1).ToList();
        Assert.Equal(4, added.Count);
        Assert.All(added, p => Assert.Equal([1, 3], p.Replicas.Order()));
    }

    private sealed class ArrayComparer : IEqualityComparer<int[]>
    {
        public static readonly ArrayComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x is not null && y is not null && x.SequenceEqual(y);

        public int GetHashCode(int[] obj) => obj.Length;
    }
}
