using System.Globalization;
using k8s;
using k8s.Models;
using Operator.Api;

namespace Operator.Reconcilers.Tests;

/// <summary>
/// Strimzi's broker scale-down check, asking a real broker (<see cref="TestBroker"/>) which node ids hold partition
/// replicas: a scale-down that would remove one is reverted with a Warning until the user skips the check; one that
/// removes only empty brokers goes ahead; an unreachable cluster stops the reconcile with NotReady naming it.
/// </summary>
public sealed class ScaleDownCheckTests
{
    private const string Cluster = "my-cluster";
    private const string Ns = OperatorFixture.Namespace;

    private static bool HasWarning(Kafka kafka, string message) =>
        kafka.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Warning && c.Reason == "ScaleDownPreventionCheck" && c.Message == message) == true;

    private static Task ScaleBrokerPoolAsync(OperatorFixture fixture, int replicas) =>
        fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"apiVersion":"kafka.strimzi.io/v1","spec":{"replicas":""" + replicas.ToString(CultureInfo.InvariantCulture) + "}}", V1Patch.PatchType.MergePatch),
            StrimziGroup.Name, StrimziGroup.StorageVersion, Ns, "kafkanodepools", "broker");

    /// <summary>Pods in the broker pool's StrimziPodSet, 0 while there is none.</summary>
    private static async Task<int> BrokerPodsAsync(OperatorFixture fixture) =>
        (await fixture.ListPodSetsAsync()).FirstOrDefault(s => s.Metadata.Name == "my-cluster-broker")?.Spec?.Pods?.Count ?? 0;

    /// <summary>Waits until the broker pool has given up node 2: ids 0 and 1 in its status, two pods in its pod set.</summary>
    private static async Task ScaledDownToTwoAsync(OperatorFixture fixture)
    {
        var pool = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"), p => p.Status?.NodeIds is { Count: 2 }, "broker scaled down");
        Assert.Equal([0, 1], pool.Status!.NodeIds!);
        await OperatorFixture.EventuallyAsync(() => BrokerPodsAsync(fixture), count => count == 2, "2 broker pods");
    }

    private static async Task<KafkaNodePool> FirstReconcileAsync(OperatorFixture fixture)
    {
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));
        var pool = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"), p => p.Status?.NodeIds is { Count: 3 }, "broker pool ids");
        Assert.Equal([0, 1, 2], pool.Status!.NodeIds!);
        await OperatorFixture.EventuallyAsync(() => BrokerPodsAsync(fixture), count => count == 3, "3 broker pods");
        return pool;
    }

    [Fact]
    public async Task ScaleDown_RemovedBrokerHoldsAReplica_RevertedWithAWarning_UntilTheKafkaSkipsTheCheck()
    {
        await using var broker = await TestBroker.StartAsync(nodeId: 2);
        await broker.CreateTopicAsync("orders");
        await using var fixture = await OperatorFixture.StartAsync(admin: broker.Admin);
        await FirstReconcileAsync(fixture);

        await ScaleBrokerPoolAsync(fixture, 2);
        const string warning = "Reverting scale-down of KafkaNodePool broker by changing number of replicas to 3";
        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster), k => HasWarning(k, warning), "ScaleDownPreventionCheck warning");
        Assert.Contains(kafka.Status!.Conditions!, c => c.Type == ConditionTypes.NotReady && c.Reason == KafkaReconciler.WaitingForPodsReason);

        // Nothing of node 2 went: its pod stays in the pod set, its ConfigMap stays, the pool keeps its ids and the user's
        // spec keeps the 2 that was asked for.
        var podSet = await fixture.GetPodSetAsync("my-cluster-broker");
        Assert.Equal(3, podSet.Spec!.Pods!.Count);
        await fixture.Client.CoreV1.ReadNamespacedConfigMapAsync("my-cluster-broker-2", Ns);
        var pool = await fixture.GetPoolAsync("broker");
        Assert.Equal([0, 1, 2], pool.Status!.NodeIds!);
        Assert.Equal(3, pool.Status.Replicas);
        Assert.Equal(2, pool.Spec!.Replicas);

        // strimzi.io/skip-broker-scaledown-check: the scale-down goes ahead and the warning goes.
        await fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"apiVersion":"kafka.strimzi.io/v1","metadata":{"annotations":{"strimzi.io/skip-broker-scaledown-check":"true"}}}""", V1Patch.PatchType.MergePatch),
            StrimziGroup.Name, StrimziGroup.StorageVersion, Ns, "kafkas", Cluster);
        await ScaledDownToTwoAsync(fixture);
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster), k => !HasWarning(k, warning), "warning gone");
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task ScaleDown_RemovedBrokerHoldsNoReplica_GoesAhead()
    {
        await using var broker = await TestBroker.StartAsync(nodeId: 0);
        await broker.CreateTopicAsync("orders");
        await using var fixture = await OperatorFixture.StartAsync(admin: broker.Admin);
        await FirstReconcileAsync(fixture);

        await ScaleBrokerPoolAsync(fixture, 2);
        await ScaledDownToTwoAsync(fixture);
        var kafka = await fixture.GetKafkaAsync(Cluster);
        Assert.DoesNotContain(kafka.Status!.Conditions!, c => c.Reason == "ScaleDownPreventionCheck");
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task RoleChange_NodesLosingTheBrokerRoleHoldAReplica_RoleKeptWithAWarning()
    {
        await using var broker = await TestBroker.StartAsync(nodeId: 3);
        await broker.CreateTopicAsync("orders");
        await using var fixture = await OperatorFixture.StartAsync(admin: broker.Admin);
        await FirstReconcileAsync(fixture);

        // The controller pool (nodes 3-5) becomes dual-role, then drops the broker role again while node 3 holds a replica.
        await SetControllerPoolRolesAsync(fixture, """["controller","broker"]""");
        var pool = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("controller"), p => p.Status?.Roles?.Count == 2, "controller pool dual-role");
        Assert.Equal([3, 4, 5], pool.Status!.NodeIds!);
        await SetControllerPoolRolesAsync(fixture, """["controller"]""");

        const string warning = "Reverting role change of KafkaNodePool controller by adding the broker role to it";
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster), k => HasWarning(k, warning), "ScaleDownPreventionCheck warning");
        pool = await fixture.GetPoolAsync("controller");
        Assert.Equal(["broker", "controller"], pool.Status!.Roles!.Order(StringComparer.Ordinal));
        Assert.Equal(["controller"], pool.Spec!.Roles!);
        var config = await fixture.Client.CoreV1.ReadNamespacedConfigMapAsync("my-cluster-controller-3", Ns);
        Assert.Contains("process.roles=broker,controller", config.Data["server.config"], StringComparison.Ordinal);
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    private static Task SetControllerPoolRolesAsync(OperatorFixture fixture, string roles) =>
        fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"apiVersion":"kafka.strimzi.io/v1","spec":{"roles":""" + roles + "}}", V1Patch.PatchType.MergePatch),
            StrimziGroup.Name, StrimziGroup.StorageVersion, Ns, "kafkanodepools", "controller");

    [Fact]
    public async Task ScaleDown_ClusterUnreachable_NotReadyNamingTheAddress_AndNothingRemoved()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        await FirstReconcileAsync(fixture);

        await ScaleBrokerPoolAsync(fixture, 2);
        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.ClusterAdminReason) == true, "NotReady ClusterAdminException");
        var condition = Assert.Single(kafka.Status!.Conditions!);
        Assert.Equal(ConditionTypes.NotReady, condition.Type);
        Assert.StartsWith("Checking whether the brokers [2] to remove are empty failed: 127.0.0.1:1: ", condition.Message, StringComparison.Ordinal);
        var podSet = await fixture.GetPodSetAsync("my-cluster-broker");
        Assert.Equal(3, podSet.Spec!.Pods!.Count);
        Assert.Equal([0, 1, 2], (await fixture.GetPoolAsync("broker")).Status!.NodeIds!);
    }
}
