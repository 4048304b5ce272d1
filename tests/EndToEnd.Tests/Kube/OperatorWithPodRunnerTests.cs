using System.Diagnostics;
using System.Globalization;
using Broker.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using EndToEnd.Tests.Infrastructure;
using EndToEnd.Tests.Operator;
using k8s;
using Kube.PodRunner;
using Operator.Api;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Kube;

/// <summary>
/// Kubernetes end to end without a cluster: the operator image reconciles an example in the API-server fixture and
/// the pod runner runs the pods it asks for, real kafka-broker containers, until the Kafka reports Ready by itself
/// (nothing marks pods ready by hand); then a client reaches the cluster through its bootstrap Service name.
/// </summary>
public sealed class OperatorWithPodRunnerTests(ITestOutputHelper output)
{
    private const string KubeconfigMount = "/opt/strimzi/kube";
    private const string Cluster = "my-cluster";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("kafka/kafka-ephemeral.yaml")]
    // A dual-role node: the operator's config advertises CONTROLPLANE-9090 beside the broker listeners, as Kafka 3.9+ allows
    // (this test found that the broker used to refuse it).
    [InlineData("kafka/kafka-single-node.yaml")]
    public async Task Example_PodsRunAndTheKafkaBecomesReady_KcatReachesTheBootstrapService(string example)
    {
        await E2EDocker.EnsureOperatorImageAsync();
        await E2EDocker.EnsureBrokerImageAsync();
        await using var api = await ApiServerWithCrds.StartAsync();
        using var loggers = new TestOutputLoggerFactory(output);
        await using var runner = await PodRunner.StartAsync(api.Client, new PodRunnerOptions
        {
            Labels = E2EDocker.Labels,
            NamePrefix = $"e2e-{E2EDocker.RunId}-op",
        }, loggers);
        var healthPort = LoopbackPorts.Free();
        await using var container = new ContainerBuilder(E2EDocker.OperatorImage)
            .WithName($"operator-runner-{E2EDocker.RunId}")
            .WithBindMount(api.KubeconfigDirectory, KubeconfigMount, AccessMode.ReadOnly)
            .WithEnvironment("KUBECONFIG", $"{KubeconfigMount}/config")
            .WithEnvironment("STRIMZI_NAMESPACE", ApiServerWithCrds.Namespace)
            .WithEnvironment("STRIMZI_HEALTH_PORT", healthPort.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("STRIMZI_KAFKA_IMAGE", E2EDocker.BrokerImage)
            .WithCreateParameterModifier(parameters => parameters.HostConfig!.NetworkMode = "host")
            .WithLabel(E2EDocker.Labels)
            .Build();
        var started = Stopwatch.StartNew();
        await container.StartAsync();
        await api.CreateExampleAsync(example);

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var kafka = await TryGetKafkaAsync(api);
            if (kafka?.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready && c.Status == "True") == true)
            {
                break;
            }
            if (deadline.Elapsed > Timeout)
            {
                var (stdout, stderr) = await container.GetLogsAsync(timestampsEnabled: false);
                var pods = await api.Client.CoreV1.ListNamespacedPodAsync(ApiServerWithCrds.Namespace);
                foreach (var pod in pods.Items)
                {
                    if (runner.ContainerId(ApiServerWithCrds.Namespace, pod.Metadata.Name, "kafka") is { } id)
                    {
                        var logs = await ProcessRunner.RunAsync("docker", ["logs", "--tail", "40", id], TimeSpan.FromSeconds(30));
                        output.WriteLine($"--- {pod.Metadata.Name} log ---{Environment.NewLine}{logs.StandardOutput}{logs.StandardError}");
                    }
                }
                Assert.Fail($"Kafka not Ready after {Timeout.TotalSeconds:F0} s; status {KubernetesJson.Serialize(kafka?.Status)}; pods: "
                    + string.Join("; ", pods.Items.Select(p => $"{p.Metadata.Name} {KubernetesJson.Serialize(p.Status)}"))
                    + $"{Environment.NewLine}operator log:{Environment.NewLine}{stdout}{stderr}");
            }
            await Task.Delay(500);
        }
        output.WriteLine($"Kafka Ready {started.Elapsed.TotalSeconds:F1} s after the operator container started");

        var bootstrap = $"{Cluster}-kafka-bootstrap.{ApiServerWithCrds.Namespace}.svc.cluster.local:9092";
        (string, string)[] records = [("a", "1"), ("b", "2")];
        // The topic is auto-created with the example's replication factor 3 just after the cluster became Ready: the
        // first metadata may have no leader yet ("Unknown partition"), so produce is retried; duplicates are fine here.
        ProcessResult produced = null!;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            produced = await Broker.KcatContainer.RunAsync(runner.NetworkName, "a:1\nb:2\n", "-b", bootstrap, "-t", "through-the-operator", "-P", "-K:");
            if (produced.ExitCode == 0)
            {
                break;
            }
            await Task.Delay(1000);
        }
        Assert.True(produced.ExitCode == 0, $"kcat produce through {bootstrap} failed: {produced.Describe()}");
        Assert.Equal(records, (await Broker.KcatContainer.ConsumeAsync(runner.NetworkName, bootstrap, "through-the-operator")).Distinct());
    }

    private static async Task<Kafka?> TryGetKafkaAsync(ApiServerWithCrds api)
    {
        try
        {
            return await api.GetKafkaAsync(Cluster);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
