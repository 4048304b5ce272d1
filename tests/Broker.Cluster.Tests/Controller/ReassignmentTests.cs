using Broker.Cluster.Controller;
using Broker.Protocol;

namespace Broker.Cluster.Tests.Controller;

/// <summary>AlterPartitionReassignments / ListPartitionReassignments semantics at the controller.</summary>
public sealed class ReassignmentTests
{
    private static async Task<ReassignmentResult> AlterAsync(ControllerFixture fixture, string topic, int partition, params int[]? replicas) =>
        Assert.Single(await fixture.Reassignments.AlterAsync([new ReassignmentRequest(topic, partition, replicas)], CancellationToken.None));

    private static async Task<AlterIsrResult> LeaderAddsToIsrAsync(ControllerFixture fixture, string topic, params int[] isr)
    {
        var partition = fixture.Partition(topic);
        return await fixture.Topics.AlterPartitionAsync(
            new AlterIsrRequest(fixture.Image.TopicsByName[topic].TopicId, 0, partition.Leader, partition.LeaderEpoch, partition.PartitionEpoch, isr),
            CancellationToken.None);
    }

    [Fact]
    public async Task Alter_NewTarget_ReplicasAreTargetPlusRemoving_WithAddingAndRemoving()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3, 4);
        fixture.CreateTopic("t", [[1, 2]]);

        var result = await AlterAsync(fixture, "t", 0, 3, 4, 2);

        Assert.Equal(ErrorCode.None, result.Error);
        var partition = fixture.Partition("t");
        Assert.Equal([3, 4, 2, 1], partition.Replicas.ToArray());
        Assert.Equal([3, 4], partition.AddingReplicas.ToArray());
        Assert.Equal([1], partition.RemovingReplicas.ToArray());
        Assert.Equal(1, partition.Leader); // the removing leader keeps leading until completion
        Assert.Equal([1, 2], partition.Isr.ToArray());
    }

    [Fact]
    public async Task Alter_AddingReplicasJoinTheIsr_CompletesAndReelectsTheRemovedLeader()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3, 4);
        fixture.CreateTopic("t", [[1, 2]]);
        await AlterAsync(fixture, "t", 0, 3, 4, 2);
        var epoch = fixture.Partition("t").LeaderEpoch;

        var partial = await LeaderAddsToIsrAsync(fixture, "t", 1, 2, 3);
        Assert.Equal(ErrorCode.None, partial.Error);
        Assert.True(fixture.Partition("t").IsReassigning);

        var complete = await LeaderAddsToIsrAsync(fixture, "t", 1, 2, 3, 4);

        Assert.Equal(ErrorCode.None, complete.Error);
        var partition = fixture.Partition("t");
        Assert.False(partition.IsReassigning);
        Assert.Equal([3, 4, 2], partition.Replicas.ToArray());
        Assert.Equal([2, 3, 4], partition.Isr.ToArray());
        Assert.Equal(3, partition.Leader);
        Assert.Equal(epoch + 1, partition.LeaderEpoch);
        Assert.Empty(fixture.Reassignments.List(null));
    }

    [Fact]
    public async Task Alter_ShrinkOrReorderOnly_CompletesAtOnce()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("t", [[1, 2, 3]]);

        Assert.Equal(ErrorCode.None, (await AlterAsync(fixture, "t", 0, 3, 2)).Error);

        var partition = fixture.Partition("t");
        Assert.False(partition.IsReassigning);
        Assert.Equal([3, 2], partition.Replicas.ToArray());
        Assert.Equal([2, 3], partition.Isr.ToArray());
        Assert.Equal(3, partition.Leader); // leader 1 was removed: the first ISR member in the target order leads
    }

    [Fact]
    public async Task Alter_CancelInProgress_OriginalReplicasReturn()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("t", [[1, 2]]);
        await AlterAsync(fixture, "t", 0, 3, 2);
        await LeaderAddsToIsrAsync(fixture, "t", 1, 2); // no change, still in progress

        var result = await AlterAsync(fixture, "t", 0, null);

        Assert.Equal(ErrorCode.None, result.Error);
        var partition = fixture.Partition("t");
        Assert.False(partition.IsReassigning);
        // As Kafka's PartitionReassignmentRevert: the adding replicas go, the rest keep their current order.
        Assert.Equal([2, 1], partition.Replicas.ToArray());
        Assert.Equal([1, 2], partition.Isr.ToArray());
        Assert.Equal(1, partition.Leader);
    }

    [Fact]
    public async Task Alter_CancelWithNothingInProgress_NoReassignmentInProgress()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);

        Assert.Equal(ErrorCode.NoReassignmentInProgress, (await AlterAsync(fixture, "t", 0, null)).Error);
    }

    [Fact]
    public async Task Alter_NewTargetReplacesOngoing_ComputedFromTheFullCurrentReplicaSet()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3, 4);
        fixture.CreateTopic("t", [[1, 2]]);
        await AlterAsync(fixture, "t", 0, 3, 2);

        await AlterAsync(fixture, "t", 0, 4, 1);

        var partition = fixture.Partition("t");
        Assert.Equal([4, 1, 3, 2], partition.Replicas.ToArray());
        Assert.Equal([4], partition.AddingReplicas.ToArray());
        Assert.Equal([3, 2], partition.RemovingReplicas.ToArray());
    }

    [Fact]
    public async Task Alter_OnlyReplicaInIsrIsBeingAdded_CancelKeepsAReplica_NewTargetKeepsItAsRemoving()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("t", [[1]]);
        await AlterAsync(fixture, "t", 0, 2);
        fixture.SetIsr("t", 0, 2); // only the adding replica is in sync (its data is all there is)

        await AlterAsync(fixture, "t", 0, 3);

        var partition = fixture.Partition("t");
        Assert.Equal([3, 2, 1], partition.Replicas.ToArray());
        Assert.Equal([2, 1], partition.RemovingReplicas.ToArray());
        Assert.Equal([2], partition.Isr.ToArray());
    }

    [Fact]
    public async Task Alter_ReplicasRemoved_LeaderEpochBumpedEvenWhenLeaderStays()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("t", [[1, 2, 3]]);
        var epoch = fixture.Partition("t").LeaderEpoch;

        await AlterAsync(fixture, "t", 0, 1, 2);

        Assert.Equal(1, fixture.Partition("t").Leader);
        Assert.Equal(epoch + 1, fixture.Partition("t").LeaderEpoch);
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 1, 9 })]
    [InlineData(new[] { -1 })]
    public async Task Alter_InvalidTarget_InvalidReplicaAssignment(int[] target)
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);
        var offset = fixture.Image.Offset;

        Assert.Equal(ErrorCode.InvalidReplicaAssignment, (await AlterAsync(fixture, "t", 0, target)).Error);
        Assert.Equal(offset, fixture.Image.Offset);
    }

    [Fact]
    public async Task Alter_UnknownTopicOrPartition_Reported()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2);
        fixture.CreateTopic("t", [[1, 2]]);

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (await AlterAsync(fixture, "nope", 0, 1)).Error);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, (await AlterAsync(fixture, "t", 1, 1)).Error);
    }

    [Fact]
    public async Task List_ReportsOngoingOnly_FilterSkipsUnknownNames()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("a", [[1, 2], [2, 1]]);
        fixture.CreateTopic("b", [[1, 2]]);
        await AlterAsync(fixture, "a", 1, 3, 1);

        var all = fixture.Reassignments.List(null);
        var filtered = fixture.Reassignments.List([("a", [0, 1, 7]), ("nope", [0])]);

        var only = Assert.Single(all);
        Assert.Equal(("a", 1), (only.Topic, only.Partition));
        Assert.Equal([3, 1, 2], only.Replicas.ToArray());
        Assert.Equal([3], only.Adding.ToArray());
        Assert.Equal([2], only.Removing.ToArray());
        Assert.Equal(only, Assert.Single(filtered));
    }

    [Fact]
    public async Task Fence_RemovingLeaderDuringReassignment_ElectsFromTheRest_ReassignmentGoesOn()
    {
        var fixture = ControllerFixture.WithBrokers(1, 2, 3);
        fixture.CreateTopic("t", [[1, 2]]);
        await AlterAsync(fixture, "t", 0, 3, 2);

        await fixture.Lifecycle.HeartbeatAsync(
            new BrokerHeartbeatInfo(1, fixture.Broker(1).Epoch, fixture.Image.Offset, WantFence: true, WantShutDown: false), CancellationToken.None);

        var partition = fixture.Partition("t");
        Assert.Equal(2, partition.Leader);
        Assert.Equal([2], partition.Isr.ToArray());
        Assert.True(partition.IsReassigning);
        Assert.Equal([3], partition.AddingReplicas.ToArray());
    }
}
