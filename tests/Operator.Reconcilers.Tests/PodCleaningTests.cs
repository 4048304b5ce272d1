using k8s;
using k8s.Models;
using Operator.Api;

namespace Operator.Reconcilers.Tests;

/// <summary>
/// <c>strimzi.io/delete-pod-and-pvc</c> on a node pod: the pod and its claims are deleted and come back afresh, the
/// pod only once its claims are gone, and nothing else of the cluster is touched.
/// </summary>
public sealed class PodCleaningTests
{
    private const string Cluster = "my-cluster";
    private const string Ns = OperatorFixture.Namespace;
    private const string Pod = "my-cluster-broker-1";
    private const string Claim = "data-0-my-cluster-broker-1";

    private static async Task<V1Pod?> PodAsync(OperatorFixture fixture, string name) =>
        (await fixture.Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.FirstOrDefault(p => p.Metadata.Name == name);

    private static async Task<V1PersistentVolumeClaim?> ClaimAsync(OperatorFixture fixture, string name) =>
        (await fixture.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns)).Items.FirstOrDefault(c => c.Metadata.Name == name);

    private static async Task<(V1Pod Pod, V1PersistentVolumeClaim Claim, V1Pod Other, V1PersistentVolumeClaim OtherClaim)> DeployAsync(OperatorFixture fixture)
    {
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-persistent.yaml"));
        var pod = await OperatorFixture.EventuallyAsync(() => PodAsync(fixture, Pod), p => p is not null, Pod);
        var claim = await OperatorFixture.EventuallyAsync(() => ClaimAsync(fixture, Claim), c => c is not null, Claim);
        var other = await OperatorFixture.EventuallyAsync(() => PodAsync(fixture, "my-cluster-broker-0"), p => p is not null, "my-cluster-broker-0");
        var otherClaim = await OperatorFixture.EventuallyAsync(() => ClaimAsync(fixture, "data-0-my-cluster-broker-0"), c => c is not null, "its claim");
        return (pod!, claim!, other!, otherClaim!);
    }

    private static Task AnnotateAsync(OperatorFixture fixture) =>
        fixture.Client.CoreV1.PatchNamespacedPodAsync(
            new V1Patch("""{"metadata":{"annotations":{"strimzi.io/delete-pod-and-pvc":"true"}}}""", V1Patch.PatchType.MergePatch), Pod, Ns);

    [Fact]
    public async Task DeletePodAndPvc_ThePodAndItsClaimComeBackAfresh_TheOthersAreUntouched()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var (pod, claim, other, otherClaim) = await DeployAsync(fixture);

        await AnnotateAsync(fixture);
        var newClaim = await OperatorFixture.EventuallyAsync(() => ClaimAsync(fixture, Claim),
            c => c is { Metadata.DeletionTimestamp: null } && c.Metadata.Uid != claim.Metadata.Uid, "a new claim");
        var newPod = await OperatorFixture.EventuallyAsync(() => PodAsync(fixture, Pod),
            p => p is { Metadata.DeletionTimestamp: null } && p.Metadata.Uid != pod.Metadata.Uid, "a new pod");
        Assert.False(newPod!.Metadata.Annotations?.ContainsKey("strimzi.io/delete-pod-and-pvc") == true);
        Assert.Contains(newPod.Spec.Volumes, v => v.PersistentVolumeClaim?.ClaimName == Claim);
        Assert.Equal(claim.Spec.Resources.Requests["storage"], newClaim!.Spec.Resources.Requests["storage"]);

        Assert.Equal(other.Metadata.Uid, (await PodAsync(fixture, "my-cluster-broker-0"))!.Metadata.Uid);
        Assert.Equal(otherClaim.Metadata.Uid, (await ClaimAsync(fixture, "data-0-my-cluster-broker-0"))!.Metadata.Uid);
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task DeletePodAndPvc_ClaimHeldByAFinalizer_ThePodStaysAwayUntilTheClaimIsGone()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var (pod, claim, _, _) = await DeployAsync(fixture);

        // Kubernetes' pvc-protection holds a claim until no pod uses it; the finalizer stands in for it here, and the test
        // lifts it as the controller would.
        await fixture.Client.CoreV1.PatchNamespacedPersistentVolumeClaimAsync(
            new V1Patch("""{"metadata":{"finalizers":["kubernetes.io/pvc-protection"]}}""", V1Patch.PatchType.MergePatch), Claim, Ns);
        await AnnotateAsync(fixture);

        await OperatorFixture.EventuallyAsync(() => ClaimAsync(fixture, Claim), c => c?.Metadata.DeletionTimestamp is not null, "the claim terminating");
        await OperatorFixture.EventuallyAsync(() => PodAsync(fixture, Pod), p => p is null, "the pod gone");
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.WaitingForPodsReason && c.Message!.Contains(Pod, StringComparison.Ordinal)) == true,
            "NotReady waiting for the cleaned pod");

        // Several reconciles later the pod is still away and its pod set does not list it.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Null(await PodAsync(fixture, Pod));
        var podSet = await fixture.GetPodSetAsync("my-cluster-broker");
        Assert.DoesNotContain(podSet.Spec!.Pods!, p => (string?)p["metadata"]!["name"] == Pod);

        await fixture.Client.CoreV1.PatchNamespacedPersistentVolumeClaimAsync(
            new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), Claim, Ns);
        await OperatorFixture.EventuallyAsync(() => ClaimAsync(fixture, Claim),
            c => c is { Metadata.DeletionTimestamp: null } && c.Metadata.Uid != claim.Metadata.Uid, "a new claim");
        await OperatorFixture.EventuallyAsync(() => PodAsync(fixture, Pod), p => p is not null && p.Metadata.Uid != pod.Metadata.Uid, "a new pod");
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }
}
