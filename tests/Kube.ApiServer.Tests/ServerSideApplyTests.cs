using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Kube.ApiServer.Tests;

/// <summary>Server-side apply through KubernetesClient: ownership, conflicts, force, field removal.</summary>
public sealed class ServerSideApplyTests
{
    private static V1Patch Apply(string json) => new(json, V1Patch.PatchType.ApplyPatch);

    [Fact]
    public async Task Apply_CreateThenSameConfig_IsIdempotent()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        const string config = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","labels":{"a":"1"}},"data":{"x":"1","y":"2"}}""";

        var created = await client.CoreV1.PatchNamespacedConfigMapAsync(Apply(config), "cfg", "default", fieldManager: "operator");
        var again = await client.CoreV1.PatchNamespacedConfigMapAsync(Apply(config), "cfg", "default", fieldManager: "operator");

        Assert.Equal(created.Metadata.ResourceVersion, again.Metadata.ResourceVersion);
        var entry = Assert.Single(again.Metadata.ManagedFields);
        Assert.Equal("operator", entry.Manager);
        Assert.Equal("Apply", entry.Operation);
        Assert.Equal("FieldsV1", entry.FieldsType);
    }

    [Fact]
    public async Task Apply_FieldOwnedByAnotherManager_ConflictsUnlessForced()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.PatchNamespacedConfigMapAsync(Apply("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"x":"1"}}"""), "cfg", "default", fieldManager: "first");

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.PatchNamespacedConfigMapAsync(
            Apply("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"x":"2"}}"""), "cfg", "default", fieldManager: "second"));
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        var status = JsonNode.Parse(error.Response.Content)!;
        Assert.Equal("Apply failed with 1 conflict: conflict with \"first\" using v1: .data.x", status["message"]!.GetValue<string>());
        Assert.Equal(".data.x", status["details"]!["causes"]![0]!["field"]!.GetValue<string>());

        // Same value: shared ownership, no conflict.
        await client.CoreV1.PatchNamespacedConfigMapAsync(Apply("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"x":"1"}}"""), "cfg", "default", fieldManager: "second");

        var forced = await client.CoreV1.PatchNamespacedConfigMapAsync(
            Apply("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"x":"3"}}"""), "cfg", "default", fieldManager: "second", force: true);
        Assert.Equal("3", forced.Data["x"]);
        Assert.DoesNotContain(forced.Metadata.ManagedFields, m => m.Manager == "first");
    }

    [Fact]
    public async Task Apply_FieldNoLongerApplied_IsRemovedUnlessAnotherManagerOwnsIt()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.PatchNamespacedConfigMapAsync(Apply("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"keep":"1","drop":"2","shared":"3"}}"""), "cfg", "default", fieldManager: "op");
        // Another writer (an Update) takes over "shared".
        await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"shared":"changed"}}""", V1Patch.PatchType.MergePatch), "cfg", "default", fieldManager: "human");

        var result = await client.CoreV1.PatchNamespacedConfigMapAsync(Apply("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"keep":"1"}}"""), "cfg", "default", fieldManager: "op");

        Assert.Equal(new Dictionary<string, string> { ["keep"] = "1", ["shared"] = "changed" }, result.Data);
    }

    [Fact]
    public async Task Apply_StatefulSetContainers_MergeByNameAcrossManagers()
    {
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { RunControllers = false });
        using var client = server.CreateClient();
        var sts = Workloads.StatefulSet("web", 1);
        sts.ApiVersion = "apps/v1";
        sts.Kind = "StatefulSet";
        await client.AppsV1.PatchNamespacedStatefulSetAsync(new V1Patch(KubernetesJson.Serialize(sts), V1Patch.PatchType.ApplyPatch), "web", "default", fieldManager: "op");
        await client.AppsV1.PatchNamespacedStatefulSetAsync(
            new V1Patch("""{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"side:1"}]}}}}""", V1Patch.PatchType.StrategicMergePatch), "web", "default", fieldManager: "injector");

        sts.Spec.Template.Spec.Containers[0].Image = "example/app:2";
        var result = await client.AppsV1.PatchNamespacedStatefulSetAsync(new V1Patch(KubernetesJson.Serialize(sts), V1Patch.PatchType.ApplyPatch), "web", "default", fieldManager: "op");

        Assert.Equal(["main:example/app:2", "sidecar:side:1"], result.Spec.Template.Spec.Containers.Select(c => c.Name + ":" + c.Image));
        Assert.Equal(3, result.Metadata.Generation);
    }
}
