using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Operator.Api;
using Operator.Kube;

namespace Operator.Reconcilers.Tests;

/// <summary>
/// The StrimziPodSet controller against the in-process API server: pods created, adopted, recreated and deleted so that
/// exactly the listed pods exist, never updated in place, and the set's status.
/// </summary>
public sealed class StrimziPodSetControllerTests
{
    private const string Ns = OperatorFixture.Namespace;
    private const string Set = "my-cluster-broker";

    [Fact]
    public async Task Reconcile_NewPodSet_CreatesOwnedPods_ThenReadyOnceThePodsAre()
    {
        await using var h = await Harness.StartAsync();
        var set = await h.CreateSetAsync(Set, Pod("my-cluster-broker-0"), Pod("my-cluster-broker-3"), Pod("my-cluster-broker-7"));

        var pods = await h.EventuallyPodsAsync(p => p.Count == 3, "three pods");
        Assert.Equal(["my-cluster-broker-0", "my-cluster-broker-3", "my-cluster-broker-7"], pods.Keys.Order(StringComparer.Ordinal));
        foreach (var pod in pods.Values)
        {
            Assert.Equal(Ns, pod.Metadata.NamespaceProperty);
            var owner = Assert.Single(pod.Metadata.OwnerReferences);
            Assert.Equal("core.strimzi.io/v1", owner.ApiVersion);
            Assert.Equal("StrimziPodSet", owner.Kind);
            Assert.Equal(Set, owner.Name);
            Assert.Equal(set.Metadata.Uid, owner.Uid);
            Assert.True(owner.Controller);
            Assert.True(owner.BlockOwnerDeletion);
            Assert.Equal("r1", pod.Metadata.Annotations[StrimziPodSetController.RevisionAnnotation]);
        }

        var status = (await h.EventuallySetAsync(Set, s => s.Status?.Pods == 3 && s.Status.CurrentPods == 3, "pods=3")).Status!;
        Assert.Equal(0, status.ReadyPods);
        Assert.Equal(1, status.ObservedGeneration);
        var waiting = Assert.Single(status.Conditions!);
        Assert.Equal((ConditionTypes.Ready, "False", StrimziPodSetController.WaitingForPodsReason), (waiting.Type, waiting.Status, waiting.Reason));

        // The kubelet reports two Ready: counted, still not Ready; then the third.
        await h.Server.SetPodReadyAsync(Ns, "my-cluster-broker-0");
        await h.Server.SetPodReadyAsync(Ns, "my-cluster-broker-7");
        var partly = await h.EventuallySetAsync(Set, s => s.Status?.ReadyPods == 2, "readyPods=2");
        Assert.Equal("pods not ready: my-cluster-broker-3", Assert.Single(partly.Status!.Conditions!).Message);
        await h.Server.SetPodReadyAsync(Ns, "my-cluster-broker-3");
        var ready = await h.EventuallySetAsync(Set, s => s.Status?.ReadyPods == 3 && IsReady(s), "Ready");
        Assert.Equal(3, ready.Status!.Pods);
        Assert.Equal(3, ready.Status.CurrentPods);

        // Converged: once the cache has caught up, reconciling again is Done and writes nothing, to the set or its pods.
        var key = new ObjectKey(Ns, Set);
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(h.Operator.Caches.StrimziPodSets.TryGet(key, out var cached)
            && cached.Metadata.ResourceVersion == ready.Metadata.ResourceVersion), seen => seen, "the cache to see Ready");
        var podVersions = (await h.PodsAsync()).ToDictionary(p => p.Key, p => p.Value.Metadata.ResourceVersion);
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(podVersions.All(p => h.Operator.Caches.Pods.TryGet(new ObjectKey(Ns, p.Key), out var cached)
            && cached.Metadata.ResourceVersion == p.Value)), seen => seen, "the cache to see the pods");
        Assert.Equal(ReconcileResult.Done, await h.Operator.PodSetReconciler.ReconcileAsync(key, CancellationToken.None));
        Assert.Equal(ready.Metadata.ResourceVersion, (await h.GetSetAsync(Set)).Metadata.ResourceVersion);
        Assert.Equal(podVersions, (await h.PodsAsync()).ToDictionary(p => p.Key, p => p.Value.Metadata.ResourceVersion));
    }

    [Fact]
    public async Task Reconcile_DefinitionChanged_ExistingPodsUntouched_DeletedPodRecreatedFromCurrentDefinition()
    {
        await using var h = await Harness.StartAsync();
        await h.CreateSetAsync(Set, Pod("my-cluster-broker-0"), Pod("my-cluster-broker-1"));
        var before = await h.EventuallyPodsAsync(p => p.Count == 2, "two pods");

        // A new revision of both definitions, with a new image: the running pods stay as they are.
        await h.PatchPodsAsync(Set, Pod("my-cluster-broker-0", "r2", "kafka-broker:v2"), Pod("my-cluster-broker-1", "r2", "kafka-broker:v2"));
        var changed = await h.EventuallySetAsync(Set, s => s.Status?.ObservedGeneration == 2, "observedGeneration=2");
        Assert.Equal(0, changed.Status!.CurrentPods);
        var unchanged = await h.PodsAsync();
        foreach (var (name, pod) in before)
        {
            Assert.Equal(pod.Metadata.Uid, unchanged[name].Metadata.Uid);
            Assert.Equal(pod.Metadata.ResourceVersion, unchanged[name].Metadata.ResourceVersion);
            Assert.Equal("r1", unchanged[name].Metadata.Annotations[StrimziPodSetController.RevisionAnnotation]);
        }

        // The Kafka reconciler's restart: delete the pod; it comes back, a new pod from the new definition.
        await h.Client.CoreV1.DeleteNamespacedPodAsync("my-cluster-broker-0", Ns);
        var after = await h.EventuallyPodsAsync(p => p.TryGetValue("my-cluster-broker-0", out var pod) && pod.Metadata.Uid != before["my-cluster-broker-0"].Metadata.Uid,
            "broker-0 recreated");
        var recreated = after["my-cluster-broker-0"];
        Assert.Equal("r2", recreated.Metadata.Annotations[StrimziPodSetController.RevisionAnnotation]);
        Assert.Equal("kafka-broker:v2", Assert.Single(recreated.Spec.Containers).Image);
        Assert.Equal(before["my-cluster-broker-1"].Metadata.ResourceVersion, after["my-cluster-broker-1"].Metadata.ResourceVersion);
        Assert.Equal("r1", after["my-cluster-broker-1"].Metadata.Annotations[StrimziPodSetController.RevisionAnnotation]);
        await h.EventuallySetAsync(Set, s => s.Status?.CurrentPods == 1 && s.Status.Pods == 2, "currentPods=1");
    }

    [Fact]
    public async Task Reconcile_TerminatingPod_LeftAlone_ThenCreatedAgainOnceGone()
    {
        await using var h = await Harness.StartAsync();

        // Bound to a node, a deleted pod terminates gracefully until its kubelet removes it.
        await h.CreateSetAsync(Set, Pod("my-cluster-broker-0", nodeName: "node-1"));
        var original = (await h.EventuallyPodsAsync(p => p.Count == 1, "the pod"))["my-cluster-broker-0"];
        await h.Server.SetPodReadyAsync(Ns, "my-cluster-broker-0");
        await h.EventuallySetAsync(Set, IsReady, "Ready");

        await h.Client.CoreV1.DeleteNamespacedPodAsync("my-cluster-broker-0", Ns);
        var terminating = (await h.PodsAsync())["my-cluster-broker-0"];
        Assert.NotNull(terminating.Metadata.DeletionTimestamp);
        var notReady = await h.EventuallySetAsync(Set, s => !IsReady(s), "not Ready while terminating");
        Assert.Equal("pods not ready: my-cluster-broker-0", Assert.Single(notReady.Status!.Conditions!).Message);
        Assert.Equal(0, notReady.Status.ReadyPods);

        // Several requeue intervals later it is still the same, terminating pod.
        await Task.Delay(1000);
        var still = (await h.PodsAsync())["my-cluster-broker-0"];
        Assert.Equal(original.Metadata.Uid, still.Metadata.Uid);
        Assert.NotNull(still.Metadata.DeletionTimestamp);

        // The kubelet finishes the deletion (as Kube.PodRunner does: zero grace in the body, on the uid): a new pod.
        await h.Client.CoreV1.DeleteNamespacedPodAsync("my-cluster-broker-0", Ns,
            new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = original.Metadata.Uid } });
        var pods = await h.EventuallyPodsAsync(p => p.TryGetValue("my-cluster-broker-0", out var pod) && pod.Metadata.Uid != original.Metadata.Uid, "recreated");
        Assert.Null(pods["my-cluster-broker-0"].Metadata.DeletionTimestamp);
    }

    [Fact]
    public async Task Reconcile_PodRemovedFromSpec_Deleted_OthersUntouched()
    {
        await using var h = await Harness.StartAsync();
        await h.CreateSetAsync(Set, Pod("my-cluster-broker-0"), Pod("my-cluster-broker-1"), Pod("my-cluster-broker-2"));
        var before = await h.EventuallyPodsAsync(p => p.Count == 3, "three pods");

        await h.PatchPodsAsync(Set, Pod("my-cluster-broker-0"), Pod("my-cluster-broker-2"));
        var after = await h.EventuallyPodsAsync(p => !p.ContainsKey("my-cluster-broker-1"), "broker-1 deleted");
        Assert.Equal(["my-cluster-broker-0", "my-cluster-broker-2"], after.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, pod) in after)
        {
            Assert.Equal(before[name].Metadata.Uid, pod.Metadata.Uid);
            Assert.Equal(before[name].Metadata.ResourceVersion, pod.Metadata.ResourceVersion);
        }

        await h.EventuallySetAsync(Set, s => s.Status?.Pods == 2 && s.Status.ObservedGeneration == 2, "pods=2");
    }

    [Fact]
    public async Task Reconcile_UnownedPodOfListedName_Adopted_PodOfAnotherController_LeftAlone()
    {
        await using var h = await Harness.StartAsync();
        var other = await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "someone-else" } }, Ns);
        var orphan = await h.Client.CoreV1.CreateNamespacedPodAsync(KubernetesJson.Deserialize<V1Pod>(Pod("my-cluster-broker-0").ToJsonString()), Ns);
        var taken = KubernetesJson.Deserialize<V1Pod>(Pod("my-cluster-broker-1").ToJsonString());
        taken.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = other.Metadata.Name, Uid = other.Metadata.Uid, Controller = true }];
        taken = await h.Client.CoreV1.CreateNamespacedPodAsync(taken, Ns);

        var set = await h.CreateSetAsync(Set, Pod("my-cluster-broker-0"), Pod("my-cluster-broker-1"));
        var pods = await h.EventuallyPodsAsync(p => p["my-cluster-broker-0"].Metadata.OwnerReferences?.Count == 1, "broker-0 adopted");
        var adopted = pods["my-cluster-broker-0"];
        Assert.Equal(orphan.Metadata.Uid, adopted.Metadata.Uid);
        var owner = Assert.Single(adopted.Metadata.OwnerReferences);
        Assert.Equal((set.Metadata.Uid, "StrimziPodSet", true), (owner.Uid, owner.Kind, owner.Controller));

        var conflict = await h.EventuallySetAsync(Set, s => s.Status?.Conditions?.FirstOrDefault()?.Reason == StrimziPodSetController.PodConflictReason,
            "conflict condition");
        var condition = Assert.Single(conflict.Status!.Conditions!);
        Assert.Equal((ConditionTypes.Ready, "False"), (condition.Type, condition.Status));
        Assert.Contains("spec.pods[1]", condition.Message, StringComparison.Ordinal);
        Assert.Contains("ConfigMap someone-else", condition.Message, StringComparison.Ordinal);
        var left = (await h.PodsAsync())["my-cluster-broker-1"];
        Assert.Equal(taken.Metadata.ResourceVersion, left.Metadata.ResourceVersion);
        Assert.Equal(other.Metadata.Uid, Assert.Single(left.Metadata.OwnerReferences).Uid);
    }

    [Fact]
    public async Task Reconcile_PodSetDeleted_PodsGarbageCollected()
    {
        await using var h = await Harness.StartAsync();
        await h.CreateSetAsync(Set, Pod("my-cluster-broker-0"), Pod("my-cluster-broker-1"));
        await h.EventuallyPodsAsync(p => p.Count == 2, "two pods");
        var unrelated = await h.Client.CoreV1.CreateNamespacedPodAsync(KubernetesJson.Deserialize<V1Pod>(Pod("unrelated-0").ToJsonString()), Ns);

        await h.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(CoreStrimziGroup.Name, "v1", Ns, "strimzipodsets", Set);
        var left = await h.EventuallyPodsAsync(p => p.Count == 1, "the set's pods collected");
        Assert.Equal(unrelated.Metadata.Uid, left["unrelated-0"].Metadata.Uid);

        // Nothing brings them back.
        await Task.Delay(600);
        Assert.Equal(["unrelated-0"], (await h.PodsAsync()).Keys.ToArray());
    }

    [Fact]
    public async Task Reconcile_InvalidDefinitions_ConditionNamesTheField_ValidPodsStillCreated()
    {
        await using var h = await Harness.StartAsync();
        var nameless = Pod("x");
        ((JsonObject)nameless["metadata"]!).Remove("name");
        var notAPod = Pod("my-cluster-broker-4");
        notAPod["spec"]!["containers"] = "kafka";
        await h.CreateSetAsync(Set, Pod("my-cluster-broker-0"), nameless, Pod("my-cluster-broker-2"), Pod("my-cluster-broker-0"), notAPod);

        var pods = await h.EventuallyPodsAsync(p => p.Count == 2, "the valid pods");
        Assert.Equal(["my-cluster-broker-0", "my-cluster-broker-2"], pods.Keys.Order(StringComparer.Ordinal));
        var set = await h.EventuallySetAsync(Set, s => s.Status?.Conditions?.FirstOrDefault()?.Reason == StrimziPodSetController.InvalidPodReason, "invalid");
        var condition = Assert.Single(set.Status!.Conditions!);
        Assert.Equal((ConditionTypes.Ready, "False"), (condition.Type, condition.Status));
        Assert.Contains("spec.pods[1].metadata.name", condition.Message, StringComparison.Ordinal);
        Assert.Contains("spec.pods[3].metadata.name: duplicate", condition.Message, StringComparison.Ordinal);
        Assert.Contains("spec.pods[4]", condition.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("spec.pods[0]", condition.Message, StringComparison.Ordinal);
        Assert.Equal(5, set.Status.Pods);

        // Fixed: the condition clears once the pods are Ready.
        await h.PatchPodsAsync(Set, Pod("my-cluster-broker-0"), Pod("my-cluster-broker-2"));
        await h.Server.SetPodReadyAsync(Ns, "my-cluster-broker-0");
        await h.Server.SetPodReadyAsync(Ns, "my-cluster-broker-2");
        await h.EventuallySetAsync(Set, s => IsReady(s) && s.Status!.Pods == 2 && s.Status.ReadyPods == 2, "Ready");
    }

    private static bool IsReady(StrimziPodSet set) =>
        set.Status?.Conditions is [{ Type: ConditionTypes.Ready, Status: "True" }] && set.Status.ObservedGeneration == set.Metadata.Generation;

    /// <summary>A pod definition as the Kafka reconciler writes one: Strimzi's labels, a revision annotation, one container.</summary>
    private static JsonObject Pod(string name, string revision = "r1", string image = "kafka-broker:v1", string? nodeName = null)
    {
        var spec = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "kafka", ["image"] = image }) };
        if (nodeName is not null)
        {
            spec["nodeName"] = nodeName;
        }

        return new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = new JsonObject { [StrimziLabels.Kind] = "Kafka", [StrimziLabels.ControllerName] = Set },
                ["annotations"] = new JsonObject { [StrimziPodSetController.RevisionAnnotation] = revision },
            },
            ["spec"] = spec,
        };
    }

    /// <summary>
    /// The API server fixture with a cluster operator of its own (both controllers), whose pod-set controller looks again
    /// every 200 ms while pods are pending.
    /// </summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly OperatorFixture _fixture;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        private Harness(OperatorFixture fixture)
        {
            _fixture = fixture;
            Operator = new ClusterOperator(fixture.Client, new ClusterOperatorOptions(Ns)
            {
                Informers = new InformerOptions { ResyncPeriod = TimeSpan.Zero, InitialBackoff = TimeSpan.FromMilliseconds(20) },
                PodSets = new StrimziPodSetControllerOptions { PodWaitInterval = TimeSpan.FromMilliseconds(200) },
            }, TimeProvider.System, new Random(42), OperatorFixture.Loggers);
            _run = Operator.RunAsync(_stop.Token);
        }

        public ClusterOperator Operator { get; }

        public KubeApiServer Server => _fixture.Server;

        public Kubernetes Client => _fixture.Client;

        public static async Task<Harness> StartAsync() => new(await OperatorFixture.StartAsync(runOperator: false));

        public async Task<StrimziPodSet> CreateSetAsync(string name, params JsonObject[] pods)
        {
            var body = new JsonObject
            {
                ["apiVersion"] = "core.strimzi.io/v1",
                ["kind"] = "StrimziPodSet",
                ["metadata"] = new JsonObject { ["name"] = name },
                ["spec"] = new JsonObject
                {
                    ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { [StrimziLabels.ControllerName] = name } },
                    ["pods"] = new JsonArray([.. pods]),
                },
            };
            return AsPodSet(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(body, CoreStrimziGroup.Name, "v1", Ns, "strimzipodsets"));
        }

        public Task PatchPodsAsync(string name, params JsonObject[] pods) =>
            Client.CustomObjects.PatchNamespacedCustomObjectAsync(
                new V1Patch(new JsonObject { ["spec"] = new JsonObject { ["pods"] = new JsonArray([.. pods]) } }.ToJsonString(), V1Patch.PatchType.MergePatch),
                CoreStrimziGroup.Name, "v1", Ns, "strimzipodsets", name);

        public async Task<StrimziPodSet> GetSetAsync(string name) =>
            AsPodSet(await Client.CustomObjects.GetNamespacedCustomObjectAsync(CoreStrimziGroup.Name, "v1", Ns, "strimzipodsets", name));

        public Task<StrimziPodSet> EventuallySetAsync(string name, Func<StrimziPodSet, bool> condition, string what) =>
            OperatorFixture.EventuallyAsync(() => GetSetAsync(name), condition, what);

        public async Task<Dictionary<string, V1Pod>> PodsAsync() =>
            (await Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.ToDictionary(p => p.Metadata.Name, StringComparer.Ordinal);

        public Task<Dictionary<string, V1Pod>> EventuallyPodsAsync(Func<Dictionary<string, V1Pod>, bool> condition, string what) =>
            OperatorFixture.EventuallyAsync(PodsAsync, condition, what);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(OperatorFixture.Timeout);
            Operator.Dispose();
            _stop.Dispose();
            await _fixture.DisposeAsync();
        }

        private static StrimziPodSet AsPodSet(object response) =>
            JsonSerializer.SerializeToNode(response)!.Deserialize<StrimziPodSet>(Manifests.JsonOptions)!;
    }
}
