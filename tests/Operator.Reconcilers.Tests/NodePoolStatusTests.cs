using System.Text.Json.Nodes;
using k8s;
using Operator.Api;

namespace Operator.Reconcilers.Tests;

/// <summary>KafkaNodePool status conditions written by the Kafka reconcile.</summary>
public sealed class NodePoolStatusTests
{
    private const string Cluster = "my-cluster";
    private const string Ns = OperatorFixture.Namespace;

    private static bool Has(KafkaNodePool pool, string type, string? reason = null) =>
        pool.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True" && (reason is null || c.Reason == reason)) == true;

    [Fact]
    public async Task Reconcile_Pools_NotReadyWaitingForTheirPods_ThenReady_WithObservedGeneration()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-ephemeral.yaml"));

        var broker = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"),
            p => Has(p, ConditionTypes.NotReady, KafkaReconciler.WaitingForPodsReason), "broker pool NotReady");
        var condition = Assert.Single(broker.Status!.Conditions!);
        Assert.Equal("pods not ready: my-cluster-broker-0, my-cluster-broker-1, my-cluster-broker-2", condition.Message);
        Assert.Equal(broker.Metadata.Generation, broker.Status.ObservedGeneration);
        Assert.Equal([0, 1, 2], broker.Status.NodeIds!);

        // The broker pods Ready: that pool is Ready, the controller pool still waits.
        foreach (var pod in new[] { "my-cluster-broker-0", "my-cluster-broker-1", "my-cluster-broker-2" })
        {
            await OperatorFixture.EventuallyAsync(async () => (await fixture.Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.Any(p => p.Metadata.Name == pod), found => found, pod);
            await fixture.Server.SetPodReadyAsync(Ns, pod);
        }

        broker = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"), p => Has(p, ConditionTypes.Ready), "broker pool Ready");
        Assert.Equal([0, 1, 2], broker.Status!.NodeIds!);
        Assert.Equal(3, broker.Status.Replicas);
        var controller = await fixture.GetPoolAsync("controller");
        Assert.True(Has(controller, ConditionTypes.NotReady, KafkaReconciler.WaitingForPodsReason));
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_PoolNamingAMissingKafka_NotReadyNamingIt_AndTheRestOfTheNamespaceIsReconciled()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var docs = OperatorFixture.Example("kafka/kafka-ephemeral.yaml").ToList();
        var orphan = (JsonObject)docs.First(d => (string?)d["kind"] == "KafkaNodePool").DeepClone();
        orphan["metadata"] = new JsonObject { ["name"] = "lost", ["labels"] = new JsonObject { [StrimziLabels.Cluster] = "ghost" } };
        docs.Add(orphan);
        await fixture.CreateAsync(docs);

        var lost = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("lost"),
            p => Has(p, ConditionTypes.NotReady, KafkaReconciler.NoSuchResourceReason), "orphan pool NotReady");
        var condition = Assert.Single(lost.Status!.Conditions!);
        Assert.Equal($"Kafka resource 'ghost' identified by label 'strimzi.io/cluster' does not exist in namespace {Ns}.", condition.Message);
        Assert.Equal(lost.Metadata.Generation, lost.Status.ObservedGeneration);
        Assert.Null(lost.Status.NodeIds);

        // my-cluster goes on as if the orphan were not there.
        await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.WaitingForPodsReason) == true, "my-cluster reconciled");
        // The node ids are kept in the pool status before its condition is written (two status writes), so both are
        // waited for together.
        await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"),
            p => p.Status?.NodeIds is { Count: 3 } && Has(p, ConditionTypes.NotReady, KafkaReconciler.WaitingForPodsReason), "broker ids and NotReady");
        Assert.DoesNotContain(await fixture.ListPodSetsAsync(Ns), s => s.Metadata.Name.Contains("lost", StringComparison.Ordinal));
        Assert.Equal(0, fixture.Operator.Counts.Failures);
    }

    [Fact]
    public async Task Reconcile_InvalidKafka_PoolsNotReadyWithTheSameReason()
    {
        await using var fixture = await OperatorFixture.StartAsync();
        var docs = OperatorFixture.Example("kafka/kafka-ephemeral.yaml");
        docs.Single(d => (string?)d["kind"] == "Kafka")["spec"]!["kafka"]!["listeners"]![1]!["port"] = 9092;
        await fixture.CreateAsync(docs);

        var broker = await OperatorFixture.EventuallyAsync(() => fixture.GetPoolAsync("broker"),
            p => Has(p, ConditionTypes.NotReady, KafkaReconciler.InvalidResourceReason), "broker pool NotReady");
        Assert.Contains("spec.kafka.listeners", Assert.Single(broker.Status!.Conditions!).Message, StringComparison.Ordinal);
        Assert.Null(broker.Status.NodeIds);
    }
}
