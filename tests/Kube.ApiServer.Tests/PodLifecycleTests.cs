using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Kube.ApiServer.Tests;

/// <summary>
/// What a kubelet relies on: pods/binding (the scheduler's assignment) and graceful deletion of a bound pod, which
/// stays with deletionTimestamp and deletionGracePeriodSeconds until the kubelet deletes it with a zero grace period.
/// </summary>
public sealed class PodLifecycleTests
{
    private static V1Pod Pod(string name, long? grace = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec { TerminationGracePeriodSeconds = grace, Containers = [new V1Container { Name = "c", Image = "busybox" }] },
    };

    private static V1Binding Binding(string pod, string node) =>
        new() { Metadata = new V1ObjectMeta { Name = pod }, Target = new V1ObjectReference { Kind = "Node", Name = node } };

    [Fact]
    public async Task Binding_SetsNodeNameOnce_SecondBindingIs409()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("p"), "default");

        await client.CoreV1.CreateNamespacedPodBindingAsync(Binding("p", "node-a"), "p", "default");
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.CreateNamespacedPodBindingAsync(Binding("p", "node-b"), "p", "default"));

        Assert.Equal("node-a", (await client.CoreV1.ReadNamespacedPodAsync("p", "default")).Spec.NodeName);
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        Assert.Contains("pod p is already assigned to node \\\"node-a\\\"", error.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_UnboundPod_IsImmediate()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("p", grace: 30), "default");

        await client.CoreV1.DeleteNamespacedPodAsync("p", "default");

        Assert.Empty((await client.CoreV1.ListNamespacedPodAsync("default")).Items);
    }

    [Fact]
    public async Task Delete_BoundPod_IsGracefulUntilDeletedWithZeroGrace()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("p", grace: 20), "default");
        await client.CoreV1.CreateNamespacedPodBindingAsync(Binding("p", "node-a"), "p", "default");

        var deleting = await client.CoreV1.DeleteNamespacedPodAsync("p", "default");
        Assert.Equal(20, deleting.Metadata.DeletionGracePeriodSeconds);
        Assert.InRange(deleting.Metadata.DeletionTimestamp!.Value, DateTime.UtcNow.AddSeconds(15), DateTime.UtcNow.AddSeconds(25));

        // A longer period does not extend it; a shorter one shortens it.
        Assert.Equal(20, (await client.CoreV1.DeleteNamespacedPodAsync("p", "default", new V1DeleteOptions { GracePeriodSeconds = 60 })).Metadata.DeletionGracePeriodSeconds);
        Assert.Equal(5, (await client.CoreV1.DeleteNamespacedPodAsync("p", "default", new V1DeleteOptions { GracePeriodSeconds = 5 })).Metadata.DeletionGracePeriodSeconds);
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.CreateNamespacedPodBindingAsync(Binding("p", "node-b"), "p", "default"));
        Assert.Equal(HttpStatusCode.Conflict, error.Response.StatusCode);
        Assert.Single((await client.CoreV1.ListNamespacedPodAsync("default")).Items);

        await client.CoreV1.DeleteNamespacedPodAsync("p", "default", new V1DeleteOptions { GracePeriodSeconds = 0 });
        Assert.Empty((await client.CoreV1.ListNamespacedPodAsync("default")).Items);
    }

    [Fact]
    public async Task Delete_BoundPodThatFinished_IsImmediate()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("p"), "default");
        await client.CoreV1.CreateNamespacedPodBindingAsync(Binding("p", "node-a"), "p", "default");
        await server.SetPodPhaseAsync("default", "p", "Succeeded");

        await client.CoreV1.DeleteNamespacedPodAsync("p", "default");

        Assert.Empty((await client.CoreV1.ListNamespacedPodAsync("default")).Items);
    }
}
