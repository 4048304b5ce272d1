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
        var env = new Dictionary<string, string>
        {
            ["STRIMZI_NAMESPACE"] = OperatorFixture.Namespace,
            ["STRIMZI_LEADER_ELECTION_IDENTITY"] = "test-operator",
            ["STRIMZI_HEALTH_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await using var host = await HostRun.StartAsync(fixture, env);
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"));

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster"),
            k => host.Run.IsCompleted || k.Status?.Conditions?.Any(c => c.Type == ConditionTypes.NotReady) == true, "the host to reconcile");
        if (host.Run.IsCompleted)
        {
            Assert.Fail("the host stopped early with exit code " + await host.Run);
        }

        Assert.NotNull(kafka.Status!.ClusterId);
        await fixture.GetPodSetAsync("my-cluster-dual-role");
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

        await host.StopAsync();
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
        var env = new Dictionary<string, string>
        {
            ["STRIMZI_NAMESPACE"] = namespaces,
            ["STRIMZI_LEADER_ELECTION_LEASE_NAMESPACE"] = OperatorFixture.Namespace,
            ["STRIMZI_LEADER_ELECTION_IDENTITY"] = "test-operator",
            ["STRIMZI_HEALTH_PORT"] = "0",
        };
        await using var host = await HostRun.StartAsync(fixture, env);
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"));
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"), "other");
        if (namespaces == "*")
        {
            await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"), "unwatched");
        }

        foreach (var ns in new[] { OperatorFixture.Namespace, "other" })
        {
            var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster", ns),
                k => host.Run.IsCompleted || k.Status?.Conditions?.Any(c => c.Reason == KafkaReconciler.WaitingForPodsReason) == true, "the Kafka in " + ns);
            Assert.False(host.Run.IsCompleted, "the host stopped early");
            Assert.NotNull(kafka.Status!.ClusterId);
            var podSet = await fixture.GetPodSetAsync("my-cluster-dual-role", ns);
            Assert.Equal(kafka.Metadata.Uid, Assert.Single(podSet.Metadata.OwnerReferences).Uid);
            await fixture.Client.CoreV1.ReadNamespacedSecretAsync("my-cluster-kafka-brokers", ns);
        }

        // Two clusters of one name in two namespaces got two cluster ids.
        Assert.NotEqual((await fixture.GetKafkaAsync("my-cluster")).Status!.ClusterId, (await fixture.GetKafkaAsync("my-cluster", "other")).Status!.ClusterId);
        if (namespaces == "*")
        {
            await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster", "unwatched"),
                k => k.Status?.ClusterId is not null, "* to cover a third namespace");
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task Run_LeaderElectionDisabled_ReconcilesWithoutALease()
    {
        await using var fixture = await OperatorFixture.StartAsync(runOperator: false);
        var env = new Dictionary<string, string>
        {
            ["STRIMZI_NAMESPACE"] = OperatorFixture.Namespace,
            ["STRIMZI_LEADER_ELECTION_ENABLED"] = "false",
            ["STRIMZI_HEALTH_PORT"] = "0",
        };
        await using var host = await HostRun.StartAsync(fixture, env);
        await fixture.CreateAsync(OperatorFixture.Example("kafka/kafka-single-node.yaml"));

        var kafka = await OperatorFixture.EventuallyAsync(() => fixture.GetKafkaAsync("my-cluster"),
            k => host.Run.IsCompleted || k.Status?.ClusterId is not null, "the host to reconcile");
        Assert.False(host.Run.IsCompleted, "the host stopped early");
        Assert.NotNull(kafka.Status!.ClusterId);
        var leases = await fixture.Client.CoordinationV1.ListNamespacedLeaseAsync(OperatorFixture.Namespace);
        Assert.Empty(leases.Items);

        await host.StopAsync();
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

    /// <summary>
    /// <see cref="ClusterOperatorHost.RunAsync"/> started as the process would be, with a kubeconfig for the fixture in a
    /// temp dir (KUBECONFIG set) and the given environment. Dispose cancels it if still running and removes the dir.
    /// Owned by one test.
    /// </summary>
    private sealed class HostRun : IAsyncDisposable
    {
        private readonly DirectoryInfo _dir;
        private readonly CancellationTokenSource _stop = new();

        private HostRun(DirectoryInfo dir, Dictionary<string, string> env)
        {
            _dir = dir;
            Run = ClusterOperatorHost.RunAsync(env.GetValueOrDefault, OperatorFixture.Loggers, _stop.Token, SmallKeys);
        }

        /// <summary>The host's exit code once it stops.</summary>
        public Task<int> Run { get; }

        public static async Task<HostRun> StartAsync(OperatorFixture fixture, Dictionary<string, string> env)
        {
            var dir = Directory.CreateTempSubdirectory("cluster-operator-");
            var kubeconfig = Path.Combine(dir.FullName, "config");
            await File.WriteAllTextAsync(kubeconfig, fixture.Server.KubeconfigYaml());
            env["KUBECONFIG"] = kubeconfig;
            return new HostRun(dir, env);
        }

        /// <summary>Cancels the host as SIGTERM would and asserts it exits 0.</summary>
        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            Assert.Equal(0, await Run.WaitAsync(OperatorFixture.Timeout));
        }

        public async ValueTask DisposeAsync()
        {
            if (!Run.IsCompleted)
            {
                // Only when the test failed before StopAsync: that failure is the one to report.
                await _stop.CancelAsync();
                try
                {
                    await Run.WaitAsync(OperatorFixture.Timeout);
                }
                catch (TimeoutException)
                {
                    // The fixture's disposal ends the rest.
                }
            }

            _stop.Dispose();
            _dir.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
