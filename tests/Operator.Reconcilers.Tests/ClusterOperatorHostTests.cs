using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Operator.Api;
using Operator.Host;

namespace Operator.Reconcilers.Tests;

/// <summary>The cluster-operator process's entry point against the in-process API server, through a kubeconfig.</summary>
public sealed class ClusterOperatorHostTests
{
    [Fact]
    public async Task Run_WithKubeconfigAndNamespace_TakesTheLeaseReconcilesAndStopsOnCancel()
    {
        await using var fixture = await OperatorFixture.StartAsync(runOperator: false);
        var dir = Directory.CreateTempSubdirectory("cluster-operator-");
        try
        {
            var kubeconfig = Path.Combine(dir.FullName, "config");
            await File.WriteAllTextAsync(kubeconfig, fixture.Server.KubeconfigYaml());
            var env = new Dictionary<string, string>
            {
                ["KUBECONFIG"] = kubeconfig,
                ["STRIMZI_NAMESPACE"] = OperatorFixture.Namespace,
                ["STRIMZI_LEADER_ELECTION_IDENTITY"] = "test-operator",
                ["STRIMZI_HEALTH_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            using var stop = new CancellationTokenSource();
            var run = ClusterOperatorHost.RunAsync(env.GetValueOrDefault, OperatorFixture.Loggers, stop.Token, SmallKeys);
            await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"));

            var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster"),
                k => run.IsCompleted || k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.NotReady) == true, "the host to reconcile");
            if (run.IsCompleted)
            {
                Assert.Fail("the host stopped early with exit code " + await run);
            }

            Assert.NotNull(kafka.Status!.ClusterId);
            await fixture.Client.AppsV1.ReadNamespacedStatefulSetAsync("my-cluster-dual-role", OperatorFixture.Namespace);
            var lease = await fixture.Client.CoordinationV1.ReadNamespacedLeaseAsync("strimzi-cluster-operator", OperatorFixture.Namespace);
            Assert.Equal("test-operator", lease.Spec.HolderIdentity);

            using (var http = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:" + env["STRIMZI_HEALTH_PORT"]) })
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthy", UriKind.Relative))).StatusCode);
                Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("/ready", UriKind.Relative))).StatusCode);
                Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/other", UriKind.Relative))).StatusCode);

                // Strimzi's operator metrics on the same port, as Prometheus text.
                const string Labels = "{kind=\"Kafka\",namespace=\"myproject\",selector=\"\"}";
                var metrics = await OperatorFixture.EventuallyAsync(async () => ParseMetrics(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative))),
                    m => m.GetValueOrDefault("strimzi_reconciliations_successful_total" + Labels) >= 1, "a successful reconciliation in /metrics");
                Assert.True(metrics["strimzi_reconciliations_total" + Labels] >= metrics["strimzi_reconciliations_successful_total" + Labels]);
                Assert.Equal(0, metrics["strimzi_reconciliations_failed_total" + Labels]);
                Assert.True(metrics["strimzi_reconciliations_duration_seconds_count" + Labels] >= 1);
                Assert.True(metrics["strimzi_reconciliations_duration_seconds_sum" + Labels] > 0);
                Assert.Equal(1, metrics["strimzi_resources" + Labels]);
            }

            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(OperatorFixture.Timeout));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    // Both ways of watching two namespaces: a list (one set of namespaced informers each) and * (cluster-wide informers).
    [Theory]
    [InlineData("myproject, other")]
    [InlineData("*")]
    public async Task Run_TwoNamespaces_ReconcilesTheKafkaOfEach(string namespaces)
    {
        await using var fixture = await OperatorFixture.StartAsync(runOperator: false);
        await fixture.Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = "other" } });
        await fixture.Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = "unwatched" } });
        var dir = Directory.CreateTempSubdirectory("cluster-operator-");
        try
        {
            var kubeconfig = Path.Combine(dir.FullName, "config");
            await File.WriteAllTextAsync(kubeconfig, fixture.Server.KubeconfigYaml());
            var env = new Dictionary<string, string>
            {
                ["KUBECONFIG"] = kubeconfig,
                ["STRIMZI_NAMESPACE"] = namespaces,
                ["STRIMZI_LEADER_ELECTION_LEASE_NAMESPACE"] = OperatorFixture.Namespace,
                ["STRIMZI_LEADER_ELECTION_IDENTITY"] = "test-operator",
                ["STRIMZI_HEALTH_PORT"] = "0",
            };
            using var stop = new CancellationTokenSource();
            var run = ClusterOperatorHost.RunAsync(env.GetValueOrDefault, OperatorFixture.Loggers, stop.Token, SmallKeys);
            await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"));
            await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"), "other");
            if (namespaces == "*")
            {
                await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"), "unwatched");
            }

            foreach (var ns in new[] { OperatorFixture.Namespace, "other" })
            {
                var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster", ns),
                    k => run.IsCompleted || k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.WaitingForPodsReason) == true, "the Kafka in " + ns);
                Assert.False(run.IsCompleted, "the host stopped early");
                Assert.NotNull(kafka.Status!.ClusterId);
                var sts = await fixture.Client.AppsV1.ReadNamespacedStatefulSetAsync("my-cluster-dual-role", ns);
                Assert.Equal(kafka.Metadata.Uid, Assert.Single(sts.Metadata.OwnerReferences).Uid);
                await fixture.Client.CoreV1.ReadNamespacedSecretAsync("my-cluster-kafka-brokers", ns);
            }

            // Two clusters of one name in two namespaces got two cluster ids.
            Assert.NotEqual((await fixture.GetKafkaAsync("my-cluster")).Status!.ClusterId, (await fixture.GetKafkaAsync("my-cluster", "other")).Status!.ClusterId);
            if (namespaces == "*")
            {
                await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster", "unwatched"),
                    k => k.Status?.ClusterId is not null, "* to cover a third namespace");
            }

            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(OperatorFixture.Timeout));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Run_LeaderElectionDisabled_ReconcilesWithoutALease()
    {
        await using var fixture = await OperatorFixture.StartAsync(runOperator: false);
        var dir = Directory.CreateTempSubdirectory("cluster-operator-");
        try
        {
            var kubeconfig = Path.Combine(dir.FullName, "config");
            await File.WriteAllTextAsync(kubeconfig, fixture.Server.KubeconfigYaml());
            var env = new Dictionary<string, string>
            {
                ["KUBECONFIG"] = kubeconfig,
                ["STRIMZI_NAMESPACE"] = OperatorFixture.Namespace,
                ["STRIMZI_LEADER_ELECTION_ENABLED"] = "false",
                ["STRIMZI_HEALTH_PORT"] = "0",
            };
            using var stop = new CancellationTokenSource();
            var run = ClusterOperatorHost.RunAsync(env.GetValueOrDefault, OperatorFixture.Loggers, stop.Token, SmallKeys);
            await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"));

            var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster"),
                k => run.IsCompleted || k.Status?.ClusterId is not null, "the host to reconcile");
            Assert.False(run.IsCompleted, "the host stopped early");
            Assert.NotNull(kafka.Status!.ClusterId);
            var leases = await fixture.Client.CoordinationV1.ListNamespacedLeaseAsync(OperatorFixture.Namespace);
            Assert.Empty(leases.Items);

            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(OperatorFixture.Timeout));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static readonly Operator.Certificates.CertificateOptions SmallKeys = OperatorFixture.TestCertificates;

    [Fact]
    public async Task Run_WithoutNamespace_ExitsWithUsageError() =>
        Assert.Equal(2, await ClusterOperatorHost.RunAsync(_ => null, NullLoggerFactory.Instance, CancellationToken.None));

    [Fact]
    public async Task Run_KubeconfigMissing_ExitsOneInsteadOfCrashing()
    {
        var env = new Dictionary<string, string> { ["STRIMZI_NAMESPACE"] = "myproject", ["KUBECONFIG"] = "/nonexistent/kubeconfig" };

        Assert.Equal(1, await ClusterOperatorHost.RunAsync(env.GetValueOrDefault, NullLoggerFactory.Instance, CancellationToken.None));
    }

    /// <summary>Prometheus text as series (name and labels) to value.</summary>
    private static Dictionary<string, double> ParseMetrics(string text) => text.Split('\n')
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .ToDictionary(l => l[..l.LastIndexOf(' ')], l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal);

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
