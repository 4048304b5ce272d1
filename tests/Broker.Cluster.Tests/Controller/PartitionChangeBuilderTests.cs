using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;

namespace Broker.Cluster.Tests.Controller;

/// <summary>Kafka's PartitionChangeBuilder rules: elections, the never-empty ISR, unclean elections, reassignment completion.</summary>
public sealed class PartitionChangeBuilderTests
{
    private static readonly Guid TopicId = new("00000000-0000-0000-0000-000000000007");

    private static PartitionInfo Partition(int leader, int[] replicas, int[] isr, int[]? adding = null, int[]? removing = null) =>
        new(0, leader, 5, 9, [.. replicas], [.. isr]) { AddingReplicas = [.. adding ?? []], RemovingReplicas = [.. removing ?? []] };

    private static Func<int, bool> Live(params int[] live) => live.Contains;

    [Fact]
    public void Build_LeaderLeavesIsr_FirstLiveIsrMemberInReplicaOrderLeads()
    {
        var builder = new PartitionChangeBuilder(TopicId, Partition(1, [1, 2, 3], [1, 2, 3]), Live(2, 3), false).WithTargetIsr([3, 2]);

        var record = builder.Build();

        Assert.NotNull(record);
        Assert.Equal(2, record.Leader);
        Assert.Equal([3, 2], record.Isr);
        Assert.Null(record.Replicas);
    }

    [Fact]
    public void Build_LeaderStillValid_KeepsLeaderAndOnlyChangesIsr()
    {
        var record = new PartitionChangeBuilder(TopicId, Partition(2, [1, 2, 3], [1, 2, 3]), Live(1, 2, 3), false).WithTargetIsr([2, 3]).Build();

        Assert.NotNull(record);
        Assert.Equal(-2, record.Leader);
        Assert.Equal([2, 3], record.Isr);
    }

    [Fact]
    public void Build_LastIsrMemberRemoved_IsrKeepsItAndLeaderBecomesMinusOne()
    {
        var builder = new PartitionChangeBuilder(TopicId, Partition(1, [1, 2], [1]), Live(2), false).WithTargetIsr([]);

        var record = builder.Build();

        Assert.NotNull(record);
        Assert.Equal(-1, record.Leader);
        Assert.Null(record.Isr);
        Assert.Equal(-1, builder.ElectedLeader);
    }

    [Fact]
    public void Build_UncleanAllowed_LiveOutOfSyncReplicaLeadsAlone_MarkedRecovering()
    {
        var builder = new PartitionChangeBuilder(TopicId, Partition(1, [1, 2, 3], [1]), Live(3), uncleanAllowed: true).WithTargetIsr([]);

        var record = builder.Build();

        Assert.NotNull(record);
        Assert.Equal(3, record.Leader);
        Assert.Equal([3], record.Isr);
        Assert.Equal(1, record.LeaderRecoveryState);
        Assert.True(builder.ElectedUnclean);
    }

    [Fact]
    public void Build_UncleanElectionKind_OverridesTopicConfig()
    {
        var record = new PartitionChangeBuilder(TopicId, Partition(-1, [1, 2], [1]), Live(2), uncleanAllowed: false)
            .WithElection(ElectionKind.Unclean).Build();

        Assert.NotNull(record);
        Assert.Equal(2, record.Leader);
    }

    [Fact]
    public void Build_OfflinePartitionWhoseIsrMemberReturns_ElectsIt()
    {
        var record = new PartitionChangeBuilder(TopicId, Partition(-1, [1, 2], [1]), Live(1, 2), false).Build();

        Assert.NotNull(record);
        Assert.Equal(1, record.Leader);
        Assert.Null(record.Isr);
    }

    [Fact]
    public void Build_NothingChanges_ReturnsNull()
    {
        Assert.Null(new PartitionChangeBuilder(TopicId, Partition(1, [1, 2], [1, 2]), Live(1, 2), false).WithTargetIsr([1, 2]).Build());
    }

    [Fact]
    public void Build_PreferredElection_PreferredInIsr_TakesLeadership()
    {
        var record = new PartitionChangeBuilder(TopicId, Partition(2, [1, 2], [1, 2]), Live(1, 2), false).WithElection(ElectionKind.Preferred).Build();

        Assert.NotNull(record);
        Assert.Equal(1, record.Leader);
    }

    [Fact]
    public void Build_PreferredElection_PreferredOutOfIsr_KeepsCurrentLeader()
    {
        Assert.Null(new PartitionChangeBuilder(TopicId, Partition(2, [1, 2], [2]), Live(1, 2), false).WithElection(ElectionKind.Preferred).Build());
    }

    [Fact]
    public void Build_AddingReplicaJoinsIsr_ReassignmentCompletes_RemovedLeaderReplaced()
    {
        // Reassigning [1, 2] -> [3, 2]: replicas are the target plus the removing replica 1, which leads.
        var current = Partition(1, [3, 2, 1], [1, 2], adding: [3], removing: [1]);

        var record = new PartitionChangeBuilder(TopicId, current, Live(1, 2, 3), false).WithTargetIsr([1, 2, 3]).Build();

        Assert.NotNull(record);
        Assert.Equal([3, 2], record.Replicas);
        Assert.Equal([2, 3], record.Isr);
        Assert.Empty(record.AddingReplicas!);
        Assert.Empty(record.RemovingReplicas!);
        Assert.Equal(3, record.Leader);
    }

    [Fact]
    public void Build_AddingReplicaNotYetInIsr_ReassignmentStaysInProgress()
    {
        var current = Partition(1, [3, 2, 1], [1, 2], adding: [3], removing: [1]);

        var record = new PartitionChangeBuilder(TopicId, current, Live(1, 2, 3), false).WithTargetIsr([1]).Build();

        Assert.NotNull(record);
        Assert.Equal([1], record.Isr);
        Assert.Null(record.Replicas);
        Assert.Null(record.AddingReplicas);
        Assert.Equal(-2, record.Leader);
    }
}
