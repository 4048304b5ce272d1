using Broker.Cluster.Replication;

namespace Broker.Cluster.Tests.Replication;

/// <summary>Kafka's RackAwareReplicaSelector rules, and replica.selector.class names.</summary>
public sealed class RackAwareReplicaSelectorTests
{
    private static readonly ReplicaView Leader = new(1, "a", 100, 0);

    [Fact]
    public void Select_FollowersInTheClientsRack_TheMostCaughtUpOne()
    {
        ReplicaView[] followers = [new(2, "b", 90, 0), new(3, "b", 100, 500), new(4, "b", 100, 20), new(5, "c", 100, 0)];

        Assert.Equal(4, RackAwareReplicaSelector.Instance.Select("b", Leader, followers));
    }

    [Fact]
    public void Select_EqualFollowers_LowestBrokerId()
    {
        ReplicaView[] followers = [new(7, "b", 100, 0), new(3, "b", 100, 0)];

        Assert.Equal(3, RackAwareReplicaSelector.Instance.Select("b", Leader, followers));
    }

    [Theory]
    [InlineData("a")] // the leader's own rack
    [InlineData("z")] // no replica there
    [InlineData("")] // no client.rack
    [InlineData(null)]
    public void Select_LeaderInTheRackOrNoMatch_TheLeader(string? rack)
    {
        ReplicaView[] followers = [new(2, "a", 100, 0), new(3, "b", 100, 0)];

        Assert.Equal(1, RackAwareReplicaSelector.Instance.Select(rack, Leader, followers));
    }

    [Fact]
    public void FromClassName_KafkasNameOrNothing_OtherNamesRefused()
    {
        Assert.Null(PreferredReadReplica.FromClassName(null));
        Assert.Null(PreferredReadReplica.FromClassName(""));
        Assert.Same(RackAwareReplicaSelector.Instance, PreferredReadReplica.FromClassName("org.apache.kafka.common.replica.RackAwareReplicaSelector"));
        Assert.Throws<ArgumentException>(() => PreferredReadReplica.FromClassName("com.example.MySelector"));
    }
}
