using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Kube.ApiServer.Tests;

/// <summary>KubernetesClient against the fixture: object lifecycle, optimistic concurrency, Status errors.</summary>
public sealed class ClientCrudTests
{
    private static V1ConfigMap ConfigMap(string name, Dictionary<string, string>? labels = null) =>
        new() { Metadata = new V1ObjectMeta { Name = name, Labels = labels }, Data = new Dictionary<string, string> { ["k"] = "v" } };

    [Fact]
    public async Task Create_AssignsUidCreationTimestampAndIncreasingResourceVersions()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();

        var a = await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("a"), "default");
        var b = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { GenerateName = "gen-" } }, "default");

        Assert.True(Guid.TryParse(a.Metadata.Uid, out _));
        Assert.NotNull(a.Metadata.CreationTimestamp);
        Assert.True(long.Parse(b.Metadata.ResourceVersion) > long.Parse(a.Metadata.ResourceVersion));
        Assert.Matches("^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$", b.Metadata.Name);
        Assert.Equal("v", (await client.CoreV1.ReadNamespacedConfigMapAsync("a", "default")).Data["k"]);
    }

    [Fact]
    public async Task Replace_StaleResourceVersion_Returns409ConflictStatus()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var created = await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("cm"), "default");
        var first = await client.CoreV1.ReadNamespacedConfigMapAsync("cm", "default");
        var second = await client.CoreV1.ReadNamespacedConfigMapAsync("cm", "default");

        first.Data["k"] = "first";
        var updated = await client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "cm", "default");
        second.Data["k"] = "second";
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReplaceNamespacedConfigMapAsync(second, "cm", "default"));

        Assert.NotEqual(created.Metadata.ResourceVersion, updated.Metadata.ResourceVersion);
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        Assert.Equal(
            """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on configmaps \"cm\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"cm","kind":"configmaps"},"code":409}""",
            error.Response.Content);
    }

    [Fact]
    public async Task GetAndCreate_MissingOrDuplicate_Return404And409StatusShapedLikeApiServer()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);

        var (code, body) = await raw.GetAsync("/apis/apps/v1/namespaces/default/statefulsets/nope");
        Assert.Equal(404, code);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"statefulsets.apps \"nope\" not found","reason":"NotFound","details":{"name":"nope","group":"apps","kind":"statefulsets"},"code":404}"""),
            body), body.ToJsonString());

        await raw.PostAsync("/api/v1/namespaces/default/secrets", """{"metadata":{"name":"s"}}""");
        (code, body) = await raw.PostAsync("/api/v1/namespaces/default/secrets", """{"metadata":{"name":"s"}}""");
        Assert.Equal(409, code);
        Assert.Equal("AlreadyExists", body["reason"]!.GetValue<string>());
        Assert.Equal("secrets \"s\" already exists", body["message"]!.GetValue<string>());

        (code, body) = await raw.PostAsync("/api/v1/namespaces/missing/configmaps", """{"metadata":{"name":"c"}}""");
        Assert.Equal(404, code);
        Assert.Equal("namespaces \"missing\" not found", body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task StatusSubresource_MainUpdateIgnoresStatusAndStatusUpdateIgnoresSpec()
    {
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { RunControllers = false });
        using var client = server.CreateClient();
        var sts = await client.AppsV1.CreateNamespacedStatefulSetAsync(Workloads.StatefulSet("web", 2), "default");
        Assert.Equal(1, sts.Metadata.Generation);

        sts.Status = new V1StatefulSetStatus { Replicas = 7, ReadyReplicas = 7 };
        sts.Spec.Replicas = 3;
        var afterMain = await client.AppsV1.ReplaceNamespacedStatefulSetAsync(sts, "web", "default");
        Assert.Equal(3, afterMain.Spec.Replicas);
        Assert.Equal(0, afterMain.Status.Replicas);
        Assert.Equal(2, afterMain.Metadata.Generation);

        afterMain.Status = new V1StatefulSetStatus { Replicas = 5, ReadyReplicas = 4 };
        afterMain.Spec.Replicas = 9;
        var afterStatus = await client.AppsV1.ReplaceNamespacedStatefulSetStatusAsync(afterMain, "web", "default");
        Assert.Equal(3, afterStatus.Spec.Replicas);
        Assert.Equal(5, afterStatus.Status.Replicas);
        Assert.Equal(2, afterStatus.Metadata.Generation);

        // Label changes are metadata: no generation bump.
        afterStatus.Metadata.Labels = new Dictionary<string, string> { ["tier"] = "x" };
        var relabelled = await client.AppsV1.ReplaceNamespacedStatefulSetAsync(afterStatus, "web", "default");
        Assert.Equal(2, relabelled.Metadata.Generation);
    }

    [Fact]
    public async Task List_LabelAndFieldSelectors_FilterItems()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("a", new() { ["app"] = "kafka", ["role"] = "broker" }), "default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("b", new() { ["app"] = "kafka", ["role"] = "controller" }), "default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("c", new() { ["app"] = "zk" }), "default");

        static string Names(V1ConfigMapList l) => string.Join(",", l.Items.Select(i => i.Metadata.Name));
        Assert.Equal("a,b", Names(await client.CoreV1.ListNamespacedConfigMapAsync("default", labelSelector: "app=kafka")));
        Assert.Equal("b", Names(await client.CoreV1.ListNamespacedConfigMapAsync("default", labelSelector: "app in (kafka),role!=broker")));
        Assert.Equal("c", Names(await client.CoreV1.ListNamespacedConfigMapAsync("default", labelSelector: "!role")));
        Assert.Equal("c", Names(await client.CoreV1.ListNamespacedConfigMapAsync("default", fieldSelector: "metadata.name=c")));
        Assert.Equal("a,b,c", Names(await client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: "metadata.namespace=default")));
    }

    [Fact]
    public async Task ScaleSubresource_CustomResource_ReadsAndWritesReplicas()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var raw = new Raw(server);
        await raw.CreateYamlAsync("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", Manifests.TopicCrd);
        await raw.CreateYamlAsync("/apis/kafka.example.io/v1/namespaces/default/kafkatopics", Manifests.Topic);

        var (code, scale) = await raw.PatchAsync("/apis/kafka.example.io/v1/namespaces/default/kafkatopics/orders/scale", """{"spec":{"replicas":5}}""", "application/merge-patch+json");
        Assert.Equal(200, code);
        Assert.Equal("Scale", scale["kind"]!.GetValue<string>());
        var (_, topic) = await raw.GetAsync("/apis/kafka.example.io/v1/namespaces/default/kafkatopics/orders");
        Assert.Equal(5, topic["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(2, topic["metadata"]!["generation"]!.GetValue<int>());
    }
}
