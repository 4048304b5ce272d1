using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Kube.ApiServer.Tests;

/// <summary>The fixture's garbage collector, namespace cleanup and StatefulSet controller.</summary>
public sealed class ControllerTests
{
    private static async Task<(V1ConfigMap Owner, V1ConfigMap Dependent)> OwnerAndDependentAsync(Kubernetes client, IList<string>? dependentFinalizers = null)
    {
        var owner = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "owner" } }, "default");
        var dependent = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta
            {
                Name = "dependent",
                Finalizers = dependentFinalizers,
                OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid, BlockOwnerDeletion = true }],
            },
        }, "default");
        return (owner, dependent);
    }

    private static async Task<V1ConfigMap?> TryReadAsync(Kubernetes client, string name)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedConfigMapAsync(name, "default");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    [Fact]
    public async Task Delete_Background_CollectsDependents()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await OwnerAndDependentAsync(client);

        await client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default", propagationPolicy: "Background");

        await Eventually.GetAsync(() => TryReadAsync(client, "dependent"), d => d is null, "dependent to be collected");
    }

    [Fact]
    public async Task Create_DependentOfAnOwnerAlreadyGone_IsCollected_OneWithALiveOwnerStays()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var (owner, _) = await OwnerAndDependentAsync(client);
        var goneUid = Guid.NewGuid().ToString();
        V1ConfigMap Dependent(string name, string ownerName, string uid) => new()
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = ownerName, Uid = uid }],
            },
        };

        // One owner reference to an object that no longer exists (same name, another uid) and one to a live owner.
        await client.CoreV1.CreateNamespacedConfigMapAsync(Dependent("dangling", "owner", goneUid), "default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(Dependent("kept", "owner", owner.Metadata.Uid), "default");

        await Eventually.GetAsync(() => TryReadAsync(client, "dangling"), d => d is null, "the dependent of a gone owner to be collected");
        Assert.NotNull(await TryReadAsync(client, "kept"));
        Assert.NotNull(await TryReadAsync(client, "dependent"));
    }

    [Fact]
    public async Task Delete_Foreground_OwnerWaitsForDependents()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await OwnerAndDependentAsync(client, ["example.io/slow"]);

        await client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default", propagationPolicy: "Foreground");

        var dependent = await Eventually.GetAsync(() => TryReadAsync(client, "dependent"), d => d?.Metadata.DeletionTimestamp is not null, "dependent deletion to start");
        var owner = await TryReadAsync(client, "owner");
        Assert.NotNull(owner);
        Assert.Contains("foregroundDeletion", owner.Metadata.Finalizers);
        Assert.NotNull(owner.Metadata.DeletionTimestamp);

        dependent!.Metadata.Finalizers = null;
        await client.CoreV1.ReplaceNamespacedConfigMapAsync(dependent, "dependent", "default");
        await Eventually.GetAsync(() => TryReadAsync(client, "owner"), o => o is null, "owner to go once dependents are gone");
    }

    [Fact]
    public async Task Delete_Orphan_KeepsDependentsAndStripsOwnerReference()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await OwnerAndDependentAsync(client);

        await client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default", propagationPolicy: "Orphan");

        await Eventually.GetAsync(() => TryReadAsync(client, "owner"), o => o is null, "owner to be deleted");
        var dependent = await TryReadAsync(client, "dependent");
        Assert.NotNull(dependent);
        Assert.True(dependent.Metadata.OwnerReferences is null || dependent.Metadata.OwnerReferences.Count == 0);
    }

    [Fact]
    public async Task Delete_Namespace_RemovesItsObjectsThenItself()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "team" } });
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "team");

        await client.CoreV1.DeleteNamespaceAsync("team");

        await Eventually.GetAsync(async () => (await client.CoreV1.ListNamespaceAsync()).Items.Select(n => n.Metadata.Name).ToList(), n => !n.Contains("team"), "namespace to go");
        Assert.Empty((await client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: "metadata.namespace=team")).Items);
    }

    [Fact]
    public async Task StatefulSet_OrderedReady_CreatesPodsOneByOneAsTheyBecomeReadyAndScalesDown()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.AppsV1.CreateNamespacedStatefulSetAsync(Workloads.StatefulSet("kafka", 3, policy: "OrderedReady"), "default");

        async Task<List<string>> PodNames() => (await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "app=kafka")).Items.Select(p => p.Metadata.Name).Order().ToList();
        for (var i = 0; i < 3; i++)
        {
            var expected = Enumerable.Range(0, i + 1).Select(o => $"kafka-{o}").ToList();
            var names = await Eventually.GetAsync(PodNames, n => n.Count == i + 1, $"{i + 1} pods");
            Assert.Equal(expected, names);
            await server.SetPodReadyAsync("default", $"kafka-{i}");
        }
        var sts = await Eventually.GetAsync(() => client.AppsV1.ReadNamespacedStatefulSetAsync("kafka", "default"), s => s.Status.ReadyReplicas == 3, "3 ready replicas");
        Assert.Equal(3, sts.Status.Replicas);
        Assert.Equal(1, sts.Status.ObservedGeneration);
        var pod = await client.CoreV1.ReadNamespacedPodAsync("kafka-1", "default");
        Assert.Equal("kafka-1", pod.Metadata.Labels["statefulset.kubernetes.io/pod-name"]);
        Assert.Equal("Running", pod.Status.Phase);
        Assert.True(pod.Metadata.OwnerReferences.Single().Controller);

        await client.AppsV1.PatchNamespacedStatefulSetScaleAsync(new V1Patch("""{"spec":{"replicas":1}}""", V1Patch.PatchType.MergePatch), "kafka", "default");
        Assert.Equal(["kafka-0"], await Eventually.GetAsync(PodNames, n => n.Count == 1, "scale down to 1"));

        await client.AppsV1.DeleteNamespacedStatefulSetAsync("kafka", "default");
        await Eventually.GetAsync(PodNames, n => n.Count == 0, "pods collected with their StatefulSet");
    }

    [Fact]
    public async Task StatefulSet_PodTemplateInvalidForPods_AcceptedButPodsFailWithFailedCreateEvent()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var sts = Workloads.StatefulSet("kafka", 2);
        sts.Spec.Template.Spec.Containers[0].Ports = [new V1ContainerPort { Name = "replication-port", ContainerPort = 9091 }];

        // The apiserver validates a StatefulSet's selector and labels, not its pod spec.
        await client.AppsV1.CreateNamespacedStatefulSetAsync(sts, "default");

        var events = await Eventually.GetAsync(
            () => client.CoreV1.ListNamespacedEventAsync("default"),
            list => list.Items.Any(e => e.Reason == "FailedCreate"),
            "a FailedCreate event");
        var failed = events.Items.Single(e => e.Reason == "FailedCreate");
        Assert.Equal("Warning", failed.Type);
        Assert.Equal("StatefulSet", failed.InvolvedObject.Kind);
        Assert.Equal("kafka", failed.InvolvedObject.Name);
        Assert.Equal(
            "create Pod kafka-0 in StatefulSet kafka failed error: Pod \"kafka-0\" is invalid: spec.containers[0].ports[0].name: Invalid value: \"replication-port\": must be no more than 15 characters",
            failed.Message);
        Assert.Empty((await client.CoreV1.ListNamespacedPodAsync("default")).Items);
    }

    [Fact]
    public async Task StatefulSet_VolumeMountOfClaimTemplate_PodsGetTheClaimVolume()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var sts = WithClaims("kafka", 1, whenDeleted: null, whenScaled: null);
        sts.Spec.Template.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/var/lib/kafka" }];

        await client.AppsV1.CreateNamespacedStatefulSetAsync(sts, "default");

        var pod = await Eventually.GetAsync(() => TryReadPodAsync(client, "kafka-0"), p => p is not null, "pod kafka-0");
        var volume = Assert.Single(pod!.Spec.Volumes);
        Assert.Equal("data-kafka-0", volume.PersistentVolumeClaim.ClaimName);
    }

    [Theory]
    [InlineData("Delete", false)]
    [InlineData("Retain", true)]
    public async Task StatefulSet_Deleted_ClaimsFollowWhenDeleted(string whenDeleted, bool kept)
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.AppsV1.CreateNamespacedStatefulSetAsync(WithClaims("kafka", 2, whenDeleted, "Retain"), "default");
        await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default"), l => l.Items.Count == 2, "two claims");

        await client.AppsV1.DeleteNamespacedStatefulSetAsync("kafka", "default", propagationPolicy: "Background");

        await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPodAsync("default"), l => l.Items.Count == 0, "pods collected");
        var claims = await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default"), l => l.Items.Count == (kept ? 2 : 0),
            kept ? "claims kept" : "claims collected");
        if (kept)
        {
            Assert.All(claims.Items, c => Assert.Null(c.Metadata.OwnerReferences));
        }
    }

    [Fact]
    public async Task StatefulSet_WhenScaledDelete_ClaimOfARemovedPodIsCollectedOthersKept()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.AppsV1.CreateNamespacedStatefulSetAsync(WithClaims("kafka", 2, "Retain", "Delete"), "default");
        await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default"), l => l.Items.Count == 2, "two claims");

        await client.AppsV1.PatchNamespacedStatefulSetScaleAsync(new V1Patch("""{"spec":{"replicas":1}}""", V1Patch.PatchType.MergePatch), "kafka", "default");

        var claims = await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default"), l => l.Items.Count == 1, "one claim");
        Assert.Equal("data-kafka-0", claims.Items.Single().Metadata.Name);
    }

    [Fact]
    public async Task StatefulSet_PolicyChangedToDelete_ExistingClaimsGainTheOwnerReference()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.AppsV1.CreateNamespacedStatefulSetAsync(WithClaims("kafka", 1, "Retain", "Retain"), "default");
        var claim = await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default"), l => l.Items.Count == 1, "a claim");
        Assert.Null(claim.Items[0].Metadata.OwnerReferences);

        var sts = await client.AppsV1.PatchNamespacedStatefulSetAsync(new V1Patch("""{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Delete"}}}""",
            V1Patch.PatchType.MergePatch), "kafka", "default");

        var owned = await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPersistentVolumeClaimAsync("default"),
            l => l.Items[0].Metadata.OwnerReferences?.Count == 1, "the claim owned by its StatefulSet");
        Assert.Equal(sts.Metadata.Uid, owned.Items[0].Metadata.OwnerReferences[0].Uid);
    }

    /// <summary>A StatefulSet with one 1Gi claim template "data" and the given retention policy (none when both are null).</summary>
    private static V1StatefulSet WithClaims(string name, int replicas, string? whenDeleted, string? whenScaled)
    {
        var sts = Workloads.StatefulSet(name, replicas);
        sts.Spec.PersistentVolumeClaimRetentionPolicy = whenDeleted is null && whenScaled is null
            ? null
            : new V1StatefulSetPersistentVolumeClaimRetentionPolicy { WhenDeleted = whenDeleted, WhenScaled = whenScaled };
        sts.Spec.VolumeClaimTemplates =
        [
            new V1PersistentVolumeClaim
            {
                Metadata = new V1ObjectMeta { Name = "data" },
                Spec = new V1PersistentVolumeClaimSpec
                {
                    AccessModes = ["ReadWriteOnce"],
                    Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
                },
            },
        ];
        return sts;
    }

    [Fact]
    public async Task StatefulSet_OrdinalsStart_PodsNumberedFromStartAndScaleDownFromTheTop()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var sts = Workloads.StatefulSet("kafka-broker", 2);
        sts.Spec.Ordinals = new V1StatefulSetOrdinals { Start = 3 };
        await client.AppsV1.CreateNamespacedStatefulSetAsync(sts, "default");

        var pods = await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPodAsync("default"), l => l.Items.Count == 2, "two pods");
        Assert.Equal(["kafka-broker-3", "kafka-broker-4"], pods.Items.Select(p => p.Metadata.Name).Order());
        Assert.Equal("4", pods.Items.Single(p => p.Metadata.Name == "kafka-broker-4").Metadata.Labels["apps.kubernetes.io/pod-index"]);

        await client.AppsV1.PatchNamespacedStatefulSetScaleAsync(new V1Patch("""{"spec":{"replicas":1}}""", V1Patch.PatchType.MergePatch), "kafka-broker", "default");

        pods = await Eventually.GetAsync(() => client.CoreV1.ListNamespacedPodAsync("default"), l => l.Items.Count == 1, "one pod");
        Assert.Equal("kafka-broker-3", pods.Items.Single().Metadata.Name);
    }

    private static async Task<V1Pod?> TryReadPodAsync(Kubernetes client, string name)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedPodAsync(name, "default");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
