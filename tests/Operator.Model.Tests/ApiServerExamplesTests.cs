using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Operator.Api;

namespace Operator.Model.Tests;

/// <summary>
/// The CRDs from crds/ served by the in-process API server, and every example applied with the real kubectl:
/// accepted as written (v1, v1beta2 and the seed's v1beta1), stored as v1, and read back into the same model
/// output as the file gives (so the schema prunes nothing the model needs). Invalid input is refused by the
/// schema with the field path.
/// </summary>
public sealed class ApiServerExamplesTests : IAsyncLifetime
{
    private KubeApiServer _server = null!;
    private Kubernetes _client = null!;
    private string _dir = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _server = await KubeApiServer.StartAsync();
        _client = _server.CreateClient();
        _dir = Directory.CreateTempSubdirectory("operator-examples-").FullName;
        _kubeconfig = Path.Combine(_dir, "config");
        _server.WriteKubeconfig(_kubeconfig);
        var (code, stdout, stderr) = await KubectlAsync("apply", "-f", Path.Combine(Repo.Root, "crds"));
        Assert.True(code == 0, stderr);
        Assert.Equal(StrimziCrds.All.Count, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.EndsWith(" created", StringComparison.Ordinal)));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task EveryExample_IsAccepted_AndReadsBackToTheSameModelOutput()
    {
        var index = 0;
        foreach (var example in Repo.Examples)
        {
            var ns = "example-" + index++;
            await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
            var (code, stdout, stderr) = await KubectlAsync("apply", "-n", ns, "-f", Path.Combine(Repo.ExamplesDir, example));
            Assert.True(code == 0, $"{example}: kubectl apply exited {code}: {stderr}");
            var expected = Repo.ReadExample(example);
            Assert.Equal(expected.Count, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.EndsWith(" created", StringComparison.Ordinal)));

            var stored = new List<object>();
            foreach (var crd in StrimziCrds.All.Where(c => c.Group == StrimziGroup.Name))
            {
                var list = JsonSerializer.SerializeToNode(
                    await _client.CustomObjects.ListNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, ns, crd.Plural))!;
                foreach (var item in list["items"]!.AsArray())
                {
                    Assert.Equal("kafka.strimzi.io/v1", (string?)item!["apiVersion"]);
                    stored.Add(Manifests.ToResource(item.AsObject()));
                }
            }

            Assert.Equal(expected.Count, stored.Count);
            Assert.Equal(GoldenTests.Render(example), GoldenTests.Render(example, stored));
        }
    }

    // The model's objects pass the API server's validation (names, port names, selectors matching template
    // labels, container ports, volumes, ConfigMap keys), owned by the Kafka as stored.
    [Fact]
    public async Task GeneratedObjects_AreAcceptedByTheApiServer()
    {
        var created = 0;
        var modelled = 0;
        foreach (var example in Repo.Examples.Where(e => Repo.ReadExample(e).OfType<Kafka>().Any()))
        {
            var ns = "objects-" + created++;
            await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
            var (code, _, stderr) = await KubectlAsync("apply", "-n", ns, "-f", Path.Combine(Repo.ExamplesDir, example));
            Assert.True(code == 0, stderr);
            var kafka = (Kafka)Manifests.ToResource(JsonSerializer.SerializeToNode(
                await _client.CustomObjects.GetNamespacedCustomObjectAsync(StrimziGroup.Name, "v1", ns, "kafkas", "my-cluster"))!.AsObject());
            var pools = JsonSerializer.SerializeToNode(
                await _client.CustomObjects.ListNamespacedCustomObjectAsync(StrimziGroup.Name, "v1", ns, "kafkanodepools"))!["items"]!.AsArray()
                .Select(i => (KafkaNodePool)Manifests.ToResource(i!.AsObject())).ToList();
            if (!KafkaClusterModel.TryFrom(kafka, pools, Repo.Options() with { Namespace = ns }, out var model, out _))
            {
                continue; // the seed's fragment: refused by the model, see GoldenTests
            }

            foreach (var obj in model!.BuildAll())
            {
                await CreateAsync(obj, ns);
            }

            modelled++;

            var podSet = JsonSerializer.SerializeToNode(await _client.CustomObjects.GetNamespacedCustomObjectAsync(
                CoreStrimziGroup.Name, CoreStrimziGroup.StorageVersion, ns, "strimzipodsets", model.Pools[^1].WorkloadName("my-cluster")))!;
            Assert.Equal(kafka.Metadata.Uid, (string?)podSet["metadata"]!["ownerReferences"]![0]!["uid"]);
            Assert.Equal(model.Pools[^1].NodeIds.Length, podSet["spec"]!["pods"]!.AsArray().Count);
        }

        Assert.Equal((10, 9), (created, modelled));
    }

    private async Task CreateAsync(IKubernetesObject<V1ObjectMeta> obj, string ns)
    {
        try
        {
            _ = obj switch
            {
                V1ServiceAccount o => (object)await _client.CoreV1.CreateNamespacedServiceAccountAsync(o, ns),
                V1Role o => await _client.RbacAuthorizationV1.CreateNamespacedRoleAsync(o, ns),
                V1RoleBinding o => await _client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(o, ns),
                V1Service o => await _client.CoreV1.CreateNamespacedServiceAsync(o, ns),
                V1Ingress o => await _client.NetworkingV1.CreateNamespacedIngressAsync(o, ns),
                V1ConfigMap o => await _client.CoreV1.CreateNamespacedConfigMapAsync(o, ns),
                V1PersistentVolumeClaim o => await _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(o, ns),
                StrimziPodSet o => await CreatePodSetAsync(o, ns),
                V1PodDisruptionBudget o => await _client.PolicyV1.CreateNamespacedPodDisruptionBudgetAsync(o, ns),
                V1NetworkPolicy o => await _client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(o, ns),
                _ => throw new NotSupportedException(obj.GetType().Name),
            };
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            Assert.Fail($"{obj.Kind}/{obj.Metadata.Name} in {ns} was refused: {e.Response.Content}");
        }
    }

    /// <summary>
    /// The pod set through the custom objects API, and each of its pods as a real Pod: the CRD keeps pods opaque, so the
    /// API server's own Pod validation is what checks the definitions the pod-set controller will create.
    /// </summary>
    private async Task<object> CreatePodSetAsync(StrimziPodSet podSet, string ns)
    {
        var created = await _client.CustomObjects.CreateNamespacedCustomObjectAsync(JsonSerializer.SerializeToNode(podSet, Manifests.JsonOptions)!,
            CoreStrimziGroup.Name, CoreStrimziGroup.StorageVersion, ns, "strimzipodsets");
        foreach (var pod in podSet.Spec!.Pods!)
        {
            await _client.CoreV1.CreateNamespacedPodAsync(KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString()), ns);
        }

        return created;
    }

    [Fact]
    public async Task SeedV1beta1Kafka_KeepsLegacyFieldsInStorage()
    {
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "seed" } });
        var (code, _, stderr) = await KubectlAsync("apply", "-n", "seed", "-f", Path.Combine(Repo.ExamplesDir, "seed", "kafka-sample.yaml"));
        Assert.True(code == 0, stderr);
        foreach (var version in StrimziGroup.ServedVersions)
        {
            var kafka = JsonSerializer.SerializeToNode(
                await _client.CustomObjects.GetNamespacedCustomObjectAsync(StrimziGroup.Name, version, "seed", "kafkas", "my-cluster"))!;
            Assert.Equal("kafka.strimzi.io/" + version, (string?)kafka["apiVersion"]);
            Assert.Equal(3, (int)kafka["spec"]!["kafka"]!["replicas"]!);
            Assert.Equal("10000Gi", (string?)kafka["spec"]!["kafka"]!["storage"]!["size"]);
            Assert.Equal(3, (int)kafka["spec"]!["zookeeper"]!["replicas"]!);
            Assert.Equal("GAUGE", (string?)kafka["spec"]!["kafka"]!["metrics"]!["rules"]![0]!["type"]);
        }

        // Printer columns and short names come from the CRD.
        var (getCode, table, getErr) = await KubectlAsync("get", "k", "-n", "seed");
        Assert.True(getCode == 0, getErr);
        Assert.StartsWith("NAME         READY   WARNINGS   KAFKA VERSION   METADATA VERSION", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidNodePool_IsRejectedBySchema_WithFieldPaths()
    {
        var path = Path.Combine(_dir, "bad-pool.yaml");
        await File.WriteAllTextAsync(path, """
            apiVersion: kafka.strimzi.io/v1
            kind: KafkaNodePool
            metadata:
              name: bad
              labels:
                strimzi.io/cluster: my-cluster
            spec:
              replicas: -1
              roles: [worker]
              storage:
                type: persistent-claim
                size: 1Gi
            """);
        var (code, _, stderr) = await KubectlAsync("apply", "-n", "default", "-f", path);
        Assert.NotEqual(0, code);
        Assert.Contains("spec.replicas", stderr, StringComparison.Ordinal);
        Assert.Contains("spec.roles[0]", stderr, StringComparison.Ordinal);
        Assert.Contains("Unsupported value: \"worker\"", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidListener_IsRejectedBySchema_WithFieldPath()
    {
        var kafka = new JsonObject
        {
            ["apiVersion"] = "kafka.strimzi.io/v1beta2",
            ["kind"] = "Kafka",
            ["metadata"] = new JsonObject { ["name"] = "bad" },
            ["spec"] = new JsonObject
            {
                ["kafka"] = new JsonObject
                {
                    ["listeners"] = new JsonArray(new JsonObject { ["name"] = "Plain_1", ["port"] = 9000, ["type"] = "internal", ["tls"] = false }),
                },
            },
        };
        var error = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() =>
            _client.CustomObjects.CreateNamespacedCustomObjectAsync(kafka, StrimziGroup.Name, "v1beta2", "default", "kafkas"));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, error.Response.StatusCode);
        Assert.Contains("spec.kafka.listeners[0].name", error.Response.Content, StringComparison.Ordinal);
        Assert.Contains("spec.kafka.listeners[0].port", error.Response.Content, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Out, string Err)> KubectlAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--kubeconfig", _kubeconfig, "--cache-dir", Path.Combine(_dir, "cache") }.Concat(args))
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["HOME"] = _dir;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("kubectl could not be started (it must be on PATH)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
