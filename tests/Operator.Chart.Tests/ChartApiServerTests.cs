using k8s;
using k8s.Models;
using Kube.ApiServer;

namespace Operator.Chart.Tests;

/// <summary>Every rendered object created in the in-process API server under strict server-side field validation.</summary>
public sealed class ChartApiServerTests
{
    [Theory]
    [MemberData(nameof(ChartRenderTests.ValueSets), MemberType = typeof(ChartRenderTests))]
    public async Task Create_EveryRenderedObject_AcceptedUnderStrictValidation(string overrides)
    {
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { RunControllers = false });
        using var client = server.CreateClient();
        foreach (var ns in new[] { "strimzi", "kafka-a", "kafka-b" })
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        }

        var objects = RenderedManifests.Render(overrides);
        await ApiServerApply.CreateAllAsync(server, objects);

        var deployment = await client.AppsV1.ReadNamespacedDeploymentAsync("strimzi-cluster-operator", "strimzi");
        Assert.Equal("strimzi-cluster-operator", deployment.Spec.Template.Spec.ServiceAccountName);
        Assert.Equal(objects.Count(o => (string?)o["kind"] == "ClusterRole"), (await client.RbacAuthorizationV1.ListClusterRoleAsync()).Items.Count);
        var bindings = (await client.RbacAuthorizationV1.ListRoleBindingForAllNamespacesAsync()).Items.Count
            + (await client.RbacAuthorizationV1.ListClusterRoleBindingAsync()).Items.Count;
        Assert.Equal(objects.Count(o => (string?)o["kind"] is "RoleBinding" or "ClusterRoleBinding"), bindings);
    }

    [Fact]
    public async Task Create_DeploymentWithAMisspeltField_RefusedSoTheCheckHasTeeth()
    {
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { RunControllers = false });
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "strimzi" } });
        var deployment = RenderedManifests.Render().Get("Deployment", "strimzi-cluster-operator", "strimzi");
        deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["imagePullPolicyy"] = "Always";

        var e = await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => ApiServerApply.CreateAllAsync(server, [deployment]));

        Assert.Contains("unknown field", e.Message, StringComparison.Ordinal);
    }
}
