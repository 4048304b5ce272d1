using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using EndToEnd.Tests.Infrastructure;
using k8s;
using k8s.Autorest;
using Operator.Api;
using Operator.Reconcilers;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Operator;

/// <summary>
/// The operator image against the in-process API-server fixture: the container gets a kubeconfig mounted and host
/// networking (the fixture listens on 127.0.0.1 only, and a container on the host's network namespace is the one way
/// to reach it), and reconciles an example into the cluster's workloads, then reports the Kafka Ready once its pods are.
/// </summary>
public sealed class OperatorReconcileTests(ITestOutputHelper output)
{
    private const string KubeconfigMount = "/opt/strimzi/kube";
    private const string Cluster = "my-cluster";

    // The image generates full-size CA and broker keys (the in-process tests use 1024-bit ones) on a shared 2-core machine.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task Run_EphemeralNodePoolExample_CreatesWorkloadsAndIsReadyOnceItsPodsAre()
    {
        await E2EDocker.EnsureOperatorImageAsync();
        await using var api = await ApiServerWithCrds.StartAsync();
        var healthPort = LoopbackPorts.Free();
        await using var container = new ContainerBuilder(E2EDocker.OperatorImage)
            .WithName($"operator-{E2EDocker.RunId}")
            .WithBindMount(api.KubeconfigDirectory, KubeconfigMount, AccessMode.ReadOnly)
            .WithEnvironment("KUBECONFIG", $"{KubeconfigMount}/config")
            .WithEnvironment("STRIMZI_NAMESPACE", ApiServerWithCrds.Namespace)
            .WithEnvironment("STRIMZI_HEALTH_PORT", healthPort.ToString(CultureInfo.InvariantCulture))
            .WithCreateParameterModifier(parameters => parameters.HostConfig!.NetworkMode = "host")
            .WithLabel(E2EDocker.Labels)
            .Build();
        var started = Stopwatch.StartNew();
        await container.StartAsync();
        await api.CreateExampleAsync("kafka/kafka-ephemeral.yaml");

        var kafka = await EventuallyAsync(container, () => api.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.NotReady && c.Reason == KafkaReconciler.WaitingForPodsReason) == true,
            "the Kafka to report NotReady/WaitingForPods");
        output.WriteLine($"Kafka status NotReady/WaitingForPods {started.Elapsed.TotalSeconds:F1} s after the operator container started");

        Assert.NotNull(kafka.Status!.ClusterId);
        var client = api.Client;
        const string Ns = ApiServerWithCrds.Namespace;
        foreach (var pool in new[] { "controller", "broker" })
        {
            var podSet = await EventuallyAsync(container, async () => JsonSerializer.SerializeToNode(await client.CustomObjects.GetNamespacedCustomObjectAsync(
                CoreStrimziGroup.Name, CoreStrimziGroup.StorageVersion, Ns, "strimzipodsets", $"{Cluster}-{pool}"))!.Deserialize<StrimziPodSet>(Manifests.JsonOptions)!,
                _ => true, $"StrimziPodSet {Cluster}-{pool}");
            Assert.Equal(3, podSet.Spec!.Pods!.Count);
            Assert.Equal(kafka.Metadata.Uid, Assert.Single(podSet.Metadata.OwnerReferences).Uid);
        }

        foreach (var service in new[] { $"{Cluster}-kafka-bootstrap", $"{Cluster}-kafka-brokers" })
        {
            await EventuallyAsync(container, () => client.CoreV1.ReadNamespacedServiceAsync(service, Ns), _ => true, $"Service {service}");
        }

        // One ConfigMap per node (its server.properties), named after its pool and node id.
        foreach (var pool in new[] { "controller", "broker" })
        {
            await EventuallyAsync(container, async () => (await client.CoreV1.ListNamespacedConfigMapAsync(Ns, labelSelector: $"strimzi.io/pool-name={pool}")).Items,
                maps => maps.Count(m => m.Metadata.Name.StartsWith($"{Cluster}-{pool}-", StringComparison.Ordinal)) == 3, $"three ConfigMaps of pool {pool}");
        }

        foreach (var secret in new[] { $"{Cluster}-cluster-ca-cert", $"{Cluster}-clients-ca-cert", $"{Cluster}-kafka-brokers" })
        {
            await EventuallyAsync(container, () => client.CoreV1.ReadNamespacedSecretAsync(secret, Ns), s => s.Data?.Count > 0, $"Secret {secret}");
        }

        // The operator's pod-set controller creates the pods; no kubelet runs them, so the test reports them ready
        // (as the in-process reconciler tests do) and the operator moves the Kafka to Ready.
        var pods = await EventuallyAsync(container, async () => (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"strimzi.io/cluster={Cluster}")).Items,
            items => items.Count == 6, "the six pods of both pools");
        foreach (var pod in pods)
        {
            await api.Server.SetPodReadyAsync(Ns, pod.Metadata.Name);
        }

        kafka = await EventuallyAsync(container, () => api.GetKafkaAsync(Cluster),
            k => k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready && c.Status == "True") == true, "the Kafka to report Ready");
        Assert.DoesNotContain(kafka.Status!.Conditions!, c => c.Type == ConditionTypes.NotReady);
        output.WriteLine($"Kafka status Ready {started.Elapsed.TotalSeconds:F1} s after the operator container started");

        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthy", UriKind.Relative))).StatusCode);
        }

        // SIGTERM: the operator stops its informers and leader lease and exits 0.
        await E2EDocker.RunAsync("stop", "--time", "30", container.Name);
        Assert.Equal(0, await container.GetExitCodeAsync());
    }

    /// <summary>Polls until <paramref name="probe"/> succeeds with a value satisfying <paramref name="condition"/>; fails with the operator's log.</summary>
    private static async Task<T> EventuallyAsync<T>(IContainer container, Func<Task<T>> probe, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            try
            {
                var value = await probe();
                if (condition(value))
                {
                    return value;
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // Not created yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                var (stdout, stderr) = await container.GetLogsAsync(timestampsEnabled: false);
                Assert.Fail($"Timed out after {Timeout.TotalSeconds:F0} s waiting for {what}; operator log:{Environment.NewLine}{stdout}{stderr}");
            }

            await Task.Delay(250);
        }
    }
}
