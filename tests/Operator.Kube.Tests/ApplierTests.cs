using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Microsoft.Extensions.Logging.Abstractions;

namespace Operator.Kube.Tests;

/// <summary>Server-side apply through one field manager, against the in-process API server.</summary>
public sealed class ApplierTests
{
    private static V1ConfigMap Desired(string value) => new()
    {
        Metadata = new V1ObjectMeta { Name = "kafka-0", NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["strimzi.io/cluster"] = "my-cluster" } },
        Data = new Dictionary<string, string> { ["server.config"] = value },
    };

    [Fact]
    public async Task ApplyAsync_NewThenSameThenChanged_CreatesSkipsThenUpdates()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var applier = new Applier(client, "strimzi-cluster-operator", NullLogger.Instance);

        Assert.Equal(ApplyOutcome.Applied, await applier.ApplyAsync(Desired("node.id=0"), null, CancellationToken.None));
        var created = await client.CoreV1.ReadNamespacedConfigMapAsync("kafka-0", "default");
        Assert.Equal("node.id=0", created.Data["server.config"]);
        Assert.Contains(created.Metadata.ManagedFields, f => f.Manager == "strimzi-cluster-operator" && f.Operation == "Apply");

        Assert.Equal(ApplyOutcome.Unchanged, await applier.ApplyAsync(Desired("node.id=0"), created, CancellationToken.None));
        Assert.Equal(1, applier.Writes);

        Assert.Equal(ApplyOutcome.Applied, await applier.ApplyAsync(Desired("node.id=1"), created, CancellationToken.None));
        var updated = await client.CoreV1.ReadNamespacedConfigMapAsync("kafka-0", "default");
        Assert.Equal("node.id=1", updated.Data["server.config"]);
        Assert.Equal(2, applier.Writes);
    }

    [Fact]
    public async Task ApplyAsync_FieldsSetByAnotherManager_AreKeptAndDoNotCauseWrites()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var applier = new Applier(client, "strimzi-cluster-operator", NullLogger.Instance);
        await applier.ApplyAsync(Desired("node.id=0"), null, CancellationToken.None);
        await client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"metadata":{"labels":{"team":"payments"}}}""", V1Patch.PatchType.MergePatch), "kafka-0", "default", fieldManager: "kubectl");
        var current = await client.CoreV1.ReadNamespacedConfigMapAsync("kafka-0", "default");

        Assert.Equal(ApplyOutcome.Unchanged, await applier.ApplyAsync(Desired("node.id=0"), current, CancellationToken.None));
        await applier.ApplyAsync(Desired("node.id=2"), current, CancellationToken.None);

        var after = await client.CoreV1.ReadNamespacedConfigMapAsync("kafka-0", "default");
        Assert.Equal("payments", after.Metadata.Labels["team"]);
        Assert.Equal("node.id=2", after.Data["server.config"]);
    }

    [Fact]
    public async Task ApplyAsync_ServiceWithServerDefaults_SecondApplyWritesNothing()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var applier = new Applier(client, "strimzi-cluster-operator", NullLogger.Instance);
        var desired = new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "my-cluster-kafka-bootstrap", NamespaceProperty = "default" },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["strimzi.io/cluster"] = "my-cluster" },
                Ports = [new V1ServicePort { Name = "tcp-clients", Port = 9092, TargetPort = 9092 }],
            },
        };

        await applier.ApplyAsync(desired, null, CancellationToken.None);
        var current = await client.CoreV1.ReadNamespacedServiceAsync("my-cluster-kafka-bootstrap", "default");

        // The server added clusterIP, type and the port's protocol: none of that makes the desired object differ.
        Assert.Equal("TCP", current.Spec.Ports[0].Protocol);
        Assert.Equal(ApplyOutcome.Unchanged, await applier.ApplyAsync(desired, current, CancellationToken.None));
        Assert.Equal(1, applier.Writes);
    }

    [Fact]
    public async Task DeleteAsync_PresentThenAbsent_RemovesAndToleratesNotFound()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var applier = new Applier(client, "strimzi-cluster-operator", NullLogger.Instance);
        await applier.ApplyAsync(Desired("x"), null, CancellationToken.None);

        await applier.DeleteAsync<V1ConfigMap>("default", "kafka-0", CancellationToken.None);
        await applier.DeleteAsync<V1ConfigMap>("default", "kafka-0", CancellationToken.None);

        Assert.DoesNotContain((await client.CoreV1.ListNamespacedConfigMapAsync("default")).Items, c => c.Metadata.Name == "kafka-0");
    }

    [Theory]
    [InlineData("""{"a":1}""", """{"a":1,"b":2}""", true)]
    [InlineData("""{"a":{"x":1}}""", """{"a":{"x":1,"y":2}}""", true)]
    [InlineData("""{"a":[{"p":80}]}""", """{"a":[{"p":80,"protocol":"TCP"}]}""", true)]
    [InlineData("""{"a":[{"p":80}]}""", """{"a":[{"p":80},{"p":81}]}""", false)]
    [InlineData("""{"a":1}""", """{"a":2}""", false)]
    [InlineData("""{"a":1}""", """{}""", false)]
    public void JsonSubset_Holds_DesiredFieldsAgainstCurrent(string desired, string current, bool expected) =>
        Assert.Equal(expected, JsonSubset.Holds(JsonNode.Parse(desired), JsonNode.Parse(current)));
}
