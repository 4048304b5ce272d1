using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Operator.Api;
using Operator.Kube;

namespace Operator.Reconcilers.Tests;

/// <summary>The Kafka reconciler, wired as the host wires it, against the in-process API server and the repository's CRDs.</summary>
public sealed class KafkaReconcilerTests
{
    private const string Cluster = "my-cluster";
    private static readonly ObjectKey KafkaKey = new(OperatorFixture.Namespace, Cluster);

    [Fact]
    public async Task Reconcile_ExampleWithNodePools_CreatesStrimziObjects_ThenReadyOncePodsAre_AndConverges()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var client = fixture.Client;
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));

        // NotReady while the pods are not Ready; the cluster id is a 22-character base64url string.
        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.NotReady && c.Reason == KafkaReconciler.WaitingForPodsReason) == true,
            "NotReady WaitingForPods");
        var clusterId = kafka.Status!.ClusterId!;
        Assert.Matches("^[A-Za-z0-9_-]{22}$", clusterId);
        Assert.Equal(kafka.Metadata.Generation, kafka.Status.ObservedGeneration);

        // Pools: Strimzi's numbering (pools in name order: broker 0-2, controller 3-5), persisted in their status.
        var broker = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"), p => p.Status?.NodeIds is { Count: 3 }, "broker node ids");
        var controller = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("controller"), p => p.Status?.NodeIds is { Count: 3 }, "controller node ids");
        Assert.Equal([0, 1, 2], broker.Status!.NodeIds!);
        Assert.Equal([3, 4, 5], controller.Status!.NodeIds!);
        Assert.Equal(clusterId, broker.Status.ClusterId);
        Assert.Equal(["broker"], broker.Status.Roles!);

        // Objects with Strimzi's names, labels and the Kafka as owner.
        var podSet = await fixture.GetPodSetAsync("my-cluster-broker");
        await fixture.GetPodSetAsync("my-cluster-controller");
        var bootstrap = await client.CoreV1.ReadNamespacedServiceAsync("my-cluster-kafka-bootstrap", OperatorFixture.Namespace);
        await client.CoreV1.ReadNamespacedServiceAsync("my-cluster-kafka-brokers", OperatorFixture.Namespace);
        var config = await client.CoreV1.ReadNamespacedConfigMapAsync("my-cluster-broker-0", OperatorFixture.Namespace);
        await client.CoreV1.ReadNamespacedConfigMapAsync("my-cluster-controller-5", OperatorFixture.Namespace);
        await client.PolicyV1.ReadNamespacedPodDisruptionBudgetAsync("my-cluster-kafka", OperatorFixture.Namespace);
        await client.NetworkingV1.ReadNamespacedNetworkPolicyAsync("my-cluster-network-policy-kafka", OperatorFixture.Namespace);
        foreach (var meta in new[] { podSet.Metadata, bootstrap.Metadata, config.Metadata })
        {
            Assert.Equal(Cluster, meta.Labels[StrimziLabels.Cluster]);
            Assert.Equal("Kafka", meta.Labels[StrimziLabels.Kind]);
            Assert.Equal("my-cluster-kafka", meta.Labels[StrimziLabels.Name]);
            var owner = Assert.Single(meta.OwnerReferences);
            Assert.Equal(("Kafka", Cluster, kafka.Metadata.Uid), (owner.Kind, owner.Name, owner.Uid));
        }

        Assert.Equal("broker", podSet.Metadata.Labels[StrimziLabels.PoolName]);
        Assert.Equal(["my-cluster-broker-0", "my-cluster-broker-1", "my-cluster-broker-2"], podSet.Spec!.Pods!.Select(p => (string?)p["metadata"]!["name"]));
        Assert.Contains("cluster.id=" + clusterId, config.Data["server.config"], StringComparison.Ordinal);

        // The pod-set controller creates the pods; Ready once every pod of every pod set is.
        var pods = new[] { 0, 1, 2 }.Select(i => "my-cluster-broker-" + i).Concat(new[] { 3, 4, 5 }.Select(i => "my-cluster-controller-" + i)).ToList();
        foreach (var pod in pods)
        {
            await OperatorFixture.EventuallyAsync(async () => (await client.CoreV1.ListNamespacedPodAsync(OperatorFixture.Namespace)).Items.Any(p => p.Metadata.Name == pod),
                found => found, "pod " + pod);
            await fixture.Server.SetPodReadyAsync(OperatorFixture.Namespace, pod);
        }

        kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready && c.Status == "True") == true, "Ready");
        Assert.DoesNotContain(kafka.Status!.Conditions!, c => c.Type == ConditionTypes.NotReady);
        Assert.Equal(clusterId, kafka.Status.ClusterId);
        Assert.Equal(
            ["plain=my-cluster-kafka-bootstrap.myproject.svc:9092", "tls=my-cluster-kafka-bootstrap.myproject.svc:9093"],
            kafka.Status.Listeners!.Select(l => l.Name + "=" + l.BootstrapServers).ToArray());

        // Converged: reconciling twice in a row writes nothing (no object, no status).
        await OperatorFixture.EventuallyAsync(() => Task.FromResult(fixture.Operator.Caches.Kafkas.TryGet(KafkaKey, out var cached)
            && cached.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready) == true), seen => seen, "the cache to see Ready");
        await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None);
        var writes = fixture.Operator.Applier.Writes;
        var resourceVersion = (await fixture.GetKafkaAsync(Cluster)).Metadata.ResourceVersion;
        var poolResourceVersion = (await fixture.GetPoolAsync("broker")).Metadata.ResourceVersion;
        Assert.Equal(ReconcileResult.Done, await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None));
        Assert.Equal(ReconcileResult.Done, await fixture.Operator.Reconciler.ReconcileAsync(KafkaKey, CancellationToken.None));
        Assert.Equal(writes, fixture.Operator.Applier.Writes);
        var after = await fixture.GetKafkaAsync(Cluster);
        Assert.Equal(resourceVersion, after.Metadata.ResourceVersion);
        Assert.Equal(poolResourceVersion, (await fixture.GetPoolAsync("broker")).Metadata.ResourceVersion);
        Assert.Equal(clusterId, after.Status!.ClusterId);
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    // Deleting a Kafka removes what the operator made for it through owner-reference garbage collection (the operator
    // deletes nothing itself); the node pools, which the user made, stay.
    [Fact]
    public async Task Delete_Kafka_OwnedObjectsCollectedAndPoolsKept()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var client = fixture.Client;
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster), k => k.Status?.ClusterId is not null, "the first reconcile");
        var selector = StrimziLabels.Cluster + "=" + Cluster;
        await OperatorFixture.EventuallyAsync(async () => (await client.CoreV1.ListNamespacedSecretAsync(OperatorFixture.Namespace)).Items
            .Any(s => s.Metadata.Name == "my-cluster-kafka-brokers"), found => found, "the broker certificates");
        await OperatorFixture.EventuallyAsync(async () => (await fixture.ListPodSetsAsync(labelSelector: selector)).Count,
            count => count == 2, "both StrimziPodSets");

        await client.CustomObjects.DeleteNamespacedCustomObjectAsync("kafka.strimzi.io", "v1", OperatorFixture.Namespace, "kafkas", Cluster);

        await OperatorFixture.EventuallyAsync(async () =>
                (await fixture.ListPodSetsAsync(labelSelector: selector)).Count
                + (await client.CoreV1.ListNamespacedServiceAsync(OperatorFixture.Namespace, labelSelector: selector)).Items.Count
                + (await client.CoreV1.ListNamespacedConfigMapAsync(OperatorFixture.Namespace, labelSelector: selector)).Items.Count
                + (await client.CoreV1.ListNamespacedSecretAsync(OperatorFixture.Namespace, labelSelector: selector)).Items.Count
                + (await client.CoreV1.ListNamespacedPodAsync(OperatorFixture.Namespace, labelSelector: selector)).Items.Count
                + (await client.PolicyV1.ListNamespacedPodDisruptionBudgetAsync(OperatorFixture.Namespace, labelSelector: selector)).Items.Count,
            remaining => remaining == 0, "every object owned by the Kafka to be collected");
        Assert.Equal(3, (await fixture.GetPoolAsync("broker")).Status!.NodeIds!.Count);
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_DuplicateListenerPorts_NotReadyNamingTheField_AndNothingCreated()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var docs = OperatorFixture.Example("kafka/kafka-ephemeral.yaml");
        var kafkaDoc = docs.Single(d => (string?)d["kind"] == "Kafka");
        kafkaDoc["spec"]!["kafka"]!["listeners"]![1]!["port"] = 9092;
        await fixture.CreateAsync(docs);

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.NotReady) == true, "NotReady");
        var condition = Assert.Single(kafka.Status!.Conditions!);
        Assert.Equal(KafkaReconciler.InvalidResourceReason, condition.Reason);
        Assert.Contains("spec.kafka.listeners", condition.Message, StringComparison.Ordinal);
        Assert.Equal(kafka.Metadata.Generation, kafka.Status.ObservedGeneration);
        Assert.NotNull(kafka.Status.ClusterId);

        Assert.Empty(await fixture.ListPodSetsAsync());
        Assert.Empty((await fixture.Client.CoreV1.ListNamespacedServiceAsync(OperatorFixture.Namespace)).Items);
        Assert.Equal(0, fixture.Operator.Applier.Writes);
        Assert.Null((await fixture.GetPoolAsync("broker")).Status?.NodeIds);
    }

    [Fact]
    public async Task Reconcile_PausedKafka_ReconciliationPausedAndNothingCreated()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var docs = OperatorFixture.Example("kafka/kafka-ephemeral.yaml");
        var kafkaDoc = docs.Single(d => (string?)d["kind"] == "Kafka");
        kafkaDoc["metadata"]!["annotations"] = new JsonObject { [KafkaReconciler.PauseAnnotation] = "true" };
        await fixture.CreateAsync(docs);

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.ReconciliationPaused) == true, "ReconciliationPaused");
        Assert.Equal("True", Assert.Single(kafka.Status!.Conditions!).Status);
        Assert.Empty(await fixture.ListPodSetsAsync());
        Assert.Equal(0, fixture.Operator.Applier.Writes);
    }

    [Fact]
    public async Task Reconcile_PoolScaledDownKafkaEditedPodSetDeleted_FollowsAndKeepsTheClusterId()
    {
        // The scale-down check asks a broker that holds no topic, so node 2 is free to go (ScaleDownCheckTests).
        await using var emptyBroker = await TestBroker.StartAsync(nodeId: 0);
        await using var fixture = await OperatorFixture.StartAsync(admin: emptyBroker.Admin);
        var client = fixture.Client;
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));
        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.WaitingForPodsReason) == true, "the first reconcile");
        var clusterId = kafka.Status!.ClusterId;
        await OperatorFixture.EventuallyAsync(async () => (await client.CoreV1.ListNamespacedConfigMapAsync(OperatorFixture.Namespace)).Items.Any(c => c.Metadata.Name == "my-cluster-broker-2"),
            found => found, "ConfigMap my-cluster-broker-2");

        // A KafkaNodePool change reaches its Kafka (strimzi.io/cluster label): the top id goes, with its ConfigMap.
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"apiVersion":"kafka.strimzi.io/v1","spec":{"replicas":2}}""", V1Patch.PatchType.MergePatch),
            StrimziGroup.Name, StrimziGroup.StorageVersion, OperatorFixture.Namespace, "kafkanodepools", "broker");
        var broker = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"), p => p.Status?.NodeIds is { Count: 2 }, "broker scaled down");
        Assert.Equal([0, 1], broker.Status!.NodeIds!);
        await OperatorFixture.EventuallyAsync(async () => (await client.CoreV1.ListNamespacedConfigMapAsync(OperatorFixture.Namespace)).Items.Select(c => c.Metadata.Name).ToList(),
            names => !names.Contains("my-cluster-broker-2") && names.Contains("my-cluster-broker-1"), "ConfigMap my-cluster-broker-2 deleted");
        var podSet = await fixture.GetPodSetAsync("my-cluster-broker");
        Assert.Equal(2, podSet.Spec!.Pods!.Count);

        // A spec change: observed, same cluster id. (The fixture wants a patch of an object created as v1beta2 through
        // the v1 endpoint to name v1, where a real API server converts; hence apiVersion in these bodies.)
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"apiVersion":"kafka.strimzi.io/v1","spec":{"kafka":{"config":{"min.insync.replicas":1}}}}""", V1Patch.PatchType.MergePatch),
            StrimziGroup.Name, StrimziGroup.StorageVersion, OperatorFixture.Namespace, "kafkas", Cluster);
        kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster), k => k.Status?.ObservedGeneration == 2, "generation 2 observed");
        Assert.Equal(clusterId, kafka.Status!.ClusterId);
        var config = await client.CoreV1.ReadNamespacedConfigMapAsync("my-cluster-broker-0", OperatorFixture.Namespace);
        Assert.Contains("min.insync.replicas=1", config.Data["server.config"], StringComparison.Ordinal);

        // An owned object deleted behind the operator's back comes back.
        var deleted = (await fixture.GetPodSetAsync("my-cluster-controller")).Metadata.Uid;
        await client.CustomObjects.DeleteNamespacedCustomObjectAsync(CoreStrimziGroup.Name, CoreStrimziGroup.StorageVersion, OperatorFixture.Namespace,
            "strimzipodsets", "my-cluster-controller");
        await OperatorFixture.EventuallyAsync(async () => (await fixture.ListPodSetsAsync()).Where(x => x.Metadata.Name == "my-cluster-controller").Select(x => x.Metadata.Uid).ToList(),
            uids => uids.Count == 1 && uids[0] != deleted, "StrimziPodSet my-cluster-controller recreated");
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    // The examples with a Kafka not covered above (node pools or legacy replicas, v1 to the seed's v1beta1) is valid, and every object
    // the reconciler applies for it is accepted by the API server: the cluster then waits for its pods.
    [Theory]
    [InlineData("kafka/kafka-external-listeners.yaml")]
    [InlineData("kafka/kafka-jbod.yaml")]
    [InlineData("security/scram-sha-512-auth/kafka.yaml")]
    [InlineData("security/tls-auth/kafka.yaml")]
    [InlineData("seed/kafka-persistent.yaml")]
    [InlineData("seed/kafka-sample.yaml")]
    public async Task Reconcile_Example_AppliesEverythingAndWaitsForPods(string example)
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var docs = OperatorFixture.Example(example);
        await fixture.CreateAsync(docs);
        var name = (string)docs.Single(d => (string?)d["kind"] == "Kafka")["metadata"]!["name"]!;

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(name),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.NotReady) == true, "NotReady");
        var notReady = kafka.Status!.Conditions!.Single(c => c.Type == ConditionTypes.NotReady);
        Assert.True(notReady.Reason == KafkaReconciler.WaitingForPodsReason, notReady.Message);
        Assert.NotEmpty(await fixture.ListPodSetsAsync());
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }
}
