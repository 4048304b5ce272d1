using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Kube.ApiServer;

namespace Operator.Chart.Tests;

/// <summary>The API server fixture's audit hook reports requests as the apiserver's RBAC authorizer sees them.</summary>
public sealed class AuditHookTests
{
    [Fact]
    public async Task Audit_EachKindOfRequest_RecordedWithTheRbacVerbAndResource()
    {
        var audit = new ConcurrentQueue<AuditEvent>();
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { Audit = audit.Enqueue, RunControllers = false });
        using var client = server.CreateClient();
        var cm = new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c", NamespaceProperty = "default" }, Data = new Dictionary<string, string> { ["k"] = "v" } };

        await client.CoreV1.CreateNamespacedConfigMapAsync(cm, "default");
        var read = await client.CoreV1.ReadNamespacedConfigMapAsync("c", "default");
        await client.CoreV1.ReplaceNamespacedConfigMapAsync(read, "c", "default");
        await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"w"}}""", V1Patch.PatchType.MergePatch), "c", "default");
        await client.CoreV1.ListNamespacedConfigMapAsync("default");
        await client.CoreV1.DeleteNamespacedConfigMapAsync("c", "default");
        await client.CoreV1.DeleteCollectionNamespacedConfigMapAsync("default");
        await client.CoreV1.ListNamespaceAsync();
        await client.CoreV1.ReadNamespaceStatusAsync("default");
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "someone");
        (await http.GetAsync(new Uri("api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1", UriKind.Relative))).Dispose();
        (await http.GetAsync(new Uri("apis", UriKind.Relative))).Dispose();

        Assert.Equal(
        [
            new AuditEvent("", "create", "", "configmaps", null, "default", null),
            new AuditEvent("", "get", "", "configmaps", null, "default", "c"),
            new AuditEvent("", "update", "", "configmaps", null, "default", "c"),
            new AuditEvent("", "patch", "", "configmaps", null, "default", "c"),
            new AuditEvent("", "list", "", "configmaps", null, "default", null),
            new AuditEvent("", "delete", "", "configmaps", null, "default", "c"),
            new AuditEvent("", "deletecollection", "", "configmaps", null, "default", null),
            new AuditEvent("", "list", "", "namespaces", null, null, null),
            new AuditEvent("", "get", "", "namespaces", "status", null, "default"),
            new AuditEvent("someone", "watch", "", "configmaps", null, "default", null),
        ], audit.ToArray());
    }
}
