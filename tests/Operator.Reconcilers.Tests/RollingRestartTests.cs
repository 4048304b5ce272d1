using k8s;
using k8s.Models;
using Operator.Api;
using Operator.Kube;
using Operator.Model;

namespace Operator.Reconcilers.Tests;

/// <summary>Rolling restarts of the StrimziPodSets' pods, driven through the in-process API server.</summary>
public sealed class RollingRestartTests
{
    private const string Cluster = "my-cluster";
    private const string Ns = OperatorFixture.Namespace;
    private static readonly ObjectKey KafkaKey = new(Ns, Cluster);
    private static readonly string[] Controllers = ["my-cluster-controller-3", "my-cluster-controller-4", "my-cluster-controller-5"];
    private static readonly string[] Brokers = ["my-cluster-broker-0", "my-cluster-broker-1", "my-cluster-broker-2"];
    private static readonly string[] AllPods = [.. Controllers, .. Brokers];
    private static readonly TimeSpan RollTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Creates the ephemeral example, marks its six pods Ready and waits for Kafka Ready; returns the pods' uids.</summary>
    private static async Task<Dictionary<string, string>> ReadyClusterAsync(OperatorFixture fixture)
    {
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));
        var pods = await OperatorFixture.EventuallyAsync(() => PodsAsync(fixture), p => AllPods.All(p.ContainsKey), "six pods");
        foreach (var pod in AllPods)
        {
            await fixture.Server.SetPodReadyAsync(Ns, pod);
        }

        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready) == true, "Ready");
        return pods.ToDictionary(p => p.Key, p => p.Value.Metadata.Uid);
    }

    private static async Task<Dictionary<string, V1Pod>> PodsAsync(OperatorFixture fixture) =>
        (await fixture.Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.ToDictionary(p => p.Metadata.Name);

    /// <summary>
    /// Plays the kubelet until every pod in <paramref name="expected"/> was replaced: marks replacements Ready, asserts at
    /// every observation that at most one pod of the cluster is missing or not Ready, and returns the restart order.
    /// </summary>
    private static async Task<List<string>> FollowRollAsync(OperatorFixture fixture, Dictionary<string, string> uids, IReadOnlyCollection<string> expected)
    {
        var order = new List<string>();
        var deadline = DateTime.UtcNow + RollTimeout;
        while (order.Count < expected.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"rolled so far: {string.Join(", ", order)}");
            var pods = await PodsAsync(fixture);
            var down = AllPods.Where(name => !pods.TryGetValue(name, out var p) || p.Metadata.DeletionTimestamp is not null
                || p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") != true).ToList();
            Assert.True(down.Count <= 1, "two pods down at once: " + string.Join(", ", down));
            foreach (var (name, pod) in pods.Where(p => AllPods.Contains(p.Key) && p.Value.Metadata.Uid != uids[p.Key]))
            {
                order.Add(name);
                uids[name] = pod.Metadata.Uid;
                await fixture.Server.SetPodReadyAsync(Ns, name);
            }

            await Task.Delay(20);
        }

        return order;
    }

    /// <summary>Each pod's desired <c>strimzi.io/revision</c> in a pod set, by pod name.</summary>
    private static Dictionary<string, string> Revisions(StrimziPodSet podSet) => podSet.Spec!.Pods!.ToDictionary(
        p => (string)p["metadata"]!["name"]!, p => (string)p["metadata"]!["annotations"]![KafkaClusterModel.RevisionAnnotation]!);

    private static Task PatchKafkaAsync(OperatorFixture fixture, string json) =>
        fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(json, V1Patch.PatchType.MergePatch),
            StrimziGroup.Name, StrimziGroup.StorageVersion, Ns, "kafkas", Cluster);

    [Fact]
    public async Task Reconcile_ConfigAndListenerChanged_UpdatesObjects_ThenRestartsPodsOneAtATime_ControllersFirst()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var uids = await ReadyClusterAsync(fixture);

        // Nothing changed: no restart.
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(fixture.Operator.Caches.Kafkas.TryGet(KafkaKey, out var k)
            && k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready) == true), seen => seen, "the cache to see Ready");
        Assert.Equal(ReconcileResult.Done, await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None));
        Assert.Equal(uids, (await PodsAsync(fixture)).ToDictionary(p => p.Key, p => p.Value.Metadata.Uid));
        var revision = Revisions(await fixture.GetPodSetAsync("my-cluster-broker"));

        // spec.kafka.config and a new listener (the list is replaced whole by a merge patch).
        await PatchKafkaAsync(fixture, """
            {"apiVersion":"kafka.strimzi.io/v1","spec":{"kafka":{"config":{"log.retention.hours":1},"listeners":[
              {"name":"plain","port":9092,"type":"internal","tls":false},{"name":"tls","port":9093,"type":"internal","tls":true},
              {"name":"extra","port":9096,"type":"internal","tls":false}]}}}
            """);

        // The objects change first: ConfigMaps and the bootstrap Service.
        var config = await OperatorFixture.EventuallyAsync(() => fixture.Client.CoreV1.ReadNamespacedConfigMapAsync("my-cluster-broker-0", Ns),
            c => c.Data["server.config"].Contains("log.retention.hours=1", StringComparison.Ordinal), "new server.config");
        Assert.Contains("EXTRA-9096://", config.Data["server.config"], StringComparison.Ordinal);
        var bootstrap = await fixture.Client.CoreV1.ReadNamespacedServiceAsync("my-cluster-kafka-bootstrap", Ns);
        Assert.Contains(bootstrap.Spec.Ports, p => p.Port == 9096);

        // Then every pod restarts, one at a time, the controllers before the brokers.
        var order = await FollowRollAsync(fixture, uids, AllPods);
        Assert.Equal(AllPods.Length, order.Distinct().Count());
        Assert.Equal(Controllers, order.Take(3).Order(StringComparer.Ordinal));
        Assert.Equal(Brokers, order.Skip(3).Order(StringComparer.Ordinal));

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready) == true, "Ready after the roll");
        Assert.Equal(2, kafka.Status!.ObservedGeneration);
        var pods = await PodsAsync(fixture);
        foreach (var podSet in new[] { "my-cluster-broker", "my-cluster-controller" })
        {
            var desired = Revisions(await fixture.GetPodSetAsync(podSet));
            if (podSet == "my-cluster-broker")
            {
                Assert.All(desired, d => Assert.NotEqual(revision[d.Key], d.Value)); // the broker pods' ports and configuration changed
            }

            // Every pod runs its current definition.
            Assert.All(desired, d => Assert.Equal(d.Value, pods[d.Key].Metadata.Annotations[KafkaClusterModel.RevisionAnnotation]));
        }

        // And nothing restarts again.
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(fixture.Operator.Caches.Kafkas.TryGet(KafkaKey, out var k)
            && k.Status?.ObservedGeneration == 2 && k.Status.Conditions?.Any(c => c.Type == ConditionTypes.Ready) == true), seen => seen, "the cache to see Ready");
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(AllPods.All(p => fixture.Operator.Caches.Pods.TryGet(new ObjectKey(Ns, p), out var pod) && pod.Metadata.Uid == uids[p]
            && pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true)), seen => seen, "the cache to see the new pods Ready");
        Assert.Equal(ReconcileResult.Done, await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None));
        Assert.Equal(uids, (await PodsAsync(fixture)).ToDictionary(p => p.Key, p => p.Value.Metadata.Uid));
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_ManualRollingUpdateOnPodSetAndPod_RestartsExactlyThosePods_AndClearsTheAnnotations()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var uids = await ReadyClusterAsync(fixture);

        // The broker StrimziPodSet (all three brokers) and one controller pod.
        var annotate = new V1Patch("""{"metadata":{"annotations":{"strimzi.io/manual-rolling-update":"true"}}}""", V1Patch.PatchType.MergePatch);
        await fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(annotate, CoreStrimziGroup.Name, CoreStrimziGroup.StorageVersion, Ns,
            "strimzipodsets", "my-cluster-broker");
        await fixture.Client.CoreV1.PatchNamespacedPodAsync(annotate, "my-cluster-controller-4", Ns);

        string[] expected = ["my-cluster-controller-4", .. Brokers];
        var order = await FollowRollAsync(fixture, uids, expected);
        Assert.Equal("my-cluster-controller-4", order[0]);
        Assert.Equal(Brokers, order.Skip(1).Order(StringComparer.Ordinal));

        // The untouched controllers kept their pods; the request is gone from the pod set and the new pods.
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready) == true, "Ready after the roll");
        var pods = await PodsAsync(fixture);
        Assert.Equal(uids, pods.ToDictionary(p => p.Key, p => p.Value.Metadata.Uid));
        Assert.All(pods.Values, p => Assert.False(p.Metadata.Annotations?.ContainsKey(KafkaClusterModel.ManualRollingUpdateAnnotation) == true, p.Metadata.Name));
        var podSet = await fixture.GetPodSetAsync("my-cluster-broker");
        Assert.False(podSet.Metadata.Annotations.ContainsKey(KafkaClusterModel.ManualRollingUpdateAnnotation));
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_StalePodNotReady_RestartedFirst_WhileReadyOnesWaitForIt()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var uids = await ReadyClusterAsync(fixture);

        // broker-1 stops being Ready, then the configuration changes: broker-1 serves nothing, so it goes first, and no
        // Ready pod is touched while it is down.
        await fixture.Server.SetPodReadyAsync(Ns, "my-cluster-broker-1", ready: false);
        await PatchKafkaAsync(fixture, """{"apiVersion":"kafka.strimzi.io/v1","spec":{"kafka":{"config":{"log.retention.hours":2}}}}""");

        var replaced = await OperatorFixture.EventuallyAsync(() => PodsAsync(fixture),
            p => p.TryGetValue("my-cluster-broker-1", out var pod) && pod.Metadata.Uid != uids["my-cluster-broker-1"], "broker-1 restarted");
        uids["my-cluster-broker-1"] = replaced["my-cluster-broker-1"].Metadata.Uid;
        // The replacement is not Ready: the five others wait, named by the status.
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.RollingUpdateReason
                && c.Message == "pods to restart: my-cluster-controller-3, my-cluster-controller-4, my-cluster-controller-5, my-cluster-broker-0, my-cluster-broker-2") == true,
            "NotReady RollingUpdate naming the five waiting pods");
        var pods = await PodsAsync(fixture);
        foreach (var (name, uid) in uids)
        {
            Assert.Equal(uid, pods[name].Metadata.Uid);
        }

        // Once it is Ready the others follow, one at a time, controllers first.
        await fixture.Server.SetPodReadyAsync(Ns, "my-cluster-broker-1");
        var order = await FollowRollAsync(fixture, uids, [.. AllPods.Where(p => p != "my-cluster-broker-1")]);
        Assert.Equal(Controllers, order.Take(3).Order(StringComparer.Ordinal));
        Assert.Equal(["my-cluster-broker-0", "my-cluster-broker-2"], order.Skip(3).Order(StringComparer.Ordinal));
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }
}
