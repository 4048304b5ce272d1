using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Microsoft.Extensions.Logging.Abstractions;
using Operator.Api;
using Operator.Host;

namespace Operator.Chart.Tests;

/// <summary>
/// The chart's RBAC against what the real cluster operator does: the host runs with the rendered Deployment's
/// environment and reconciles examples to Ready, and every request it sends must be allowed by the rendered roles
/// bound to its service account.
/// </summary>
public sealed class RbacCoverageTests
{
    private const string ReleaseNamespace = "strimzi";
    private const string WatchedNamespace = "kafka-a";
    private const string OperatorPod = "strimzi-cluster-operator-7d9c5b-x2x4q";

    /// <summary>The identity the fixture's audit hook reports for the operator (the token of its kubeconfig).</summary>
    private const string OperatorToken = "system:serviceaccount:strimzi:strimzi-cluster-operator";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Calls the operator is about to make (rolling restarts, certificate Secrets, events), not exercised by the reconcile yet.</summary>
    public static TheoryData<string, string, string, string?> UpcomingCalls => new()
    {
        { "delete", "", "pods", null },
        { "get", "", "pods", null },
        { "create", "", "secrets", null },
        { "patch", "", "secrets", null },
        { "get", "", "secrets", null },
        { "list", "", "secrets", null },
        { "watch", "", "secrets", null },
        { "delete", "", "secrets", null },
        { "patch", "", "persistentvolumeclaims", null },
        { "create", "events.k8s.io", "events", null },
        { "create", "", "events", null },
        { "patch", "apps", "deployments", null },
        { "update", "kafka.strimzi.io", "kafkas", "finalizers" },
    };

    [Fact]
    public async Task ClusterOperator_ReconcilesExamplesToReady_EveryRequestAllowedByTheChartsRbac()
    {
        var audit = new ConcurrentQueue<AuditEvent>();
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { Audit = audit.Enqueue });
        using var client = server.CreateClient();
        await InstallAsync(server, client);
        var manifests = RenderedManifests.Render("watchNamespaces: [" + WatchedNamespace + "]");
        await ApiServerApply.CreateAllAsync(server, manifests);
        var policy = new RbacPolicy(manifests, ReleaseNamespace, "strimzi-cluster-operator");
        var deployment = manifests.Get("Deployment", "strimzi-cluster-operator", ReleaseNamespace);

        var dir = Directory.CreateTempSubdirectory("chart-rbac-");
        try
        {
            var env = ContainerEnvironment(deployment);
            env["KUBECONFIG"] = Path.Combine(dir.FullName, "config");
            env["STRIMZI_HEALTH_PORT"] = "0";
            await File.WriteAllTextAsync(env["KUBECONFIG"], server.KubeconfigYaml().Replace("kube-fixture-accepts-anything", OperatorToken, StringComparison.Ordinal));
            using var stop = new CancellationTokenSource();
            var run = ClusterOperatorHost.RunAsync(env.GetValueOrDefault, NullLoggerFactory.Instance, stop.Token);
            try
            {
                await CreateExampleAsync(client, "kafka/kafka-single-node.yaml", ReleaseNamespace);
                await CreateExampleAsync(client, "kafka/kafka-external-listeners.yaml", WatchedNamespace);
                await ReadyAsync(server, client, ReleaseNamespace, run);
                await ReadyAsync(server, client, WatchedNamespace, run);

                // A listener removed: the operator deletes the objects the model no longer builds.
                var kafka = await client.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(StrimziGroup.Name, StrimziGroup.StorageVersion, WatchedNamespace, "kafkas", "my-cluster");
                var listeners = kafka["spec"]!["kafka"]!["listeners"]!.AsArray();
                listeners.Remove(listeners.Single(l => (string?)l!["type"] == "ingress"));
                var patch = new JsonObject { ["spec"] = new JsonObject { ["kafka"] = new JsonObject { ["listeners"] = listeners.DeepClone() } } };
                await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
                    StrimziGroup.Name, StrimziGroup.StorageVersion, WatchedNamespace, "kafkas", "my-cluster");
                await EventuallyAsync(() => Task.FromResult(audit.Any(e => e.User == OperatorToken && e.Verb == "delete" && e.Resource == "ingresses")), run,
                    "the operator to delete the removed listener's Ingress");
            }
            finally
            {
                await stop.CancelAsync();
            }

            Assert.Equal(0, await run.WaitAsync(Timeout));
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        var requests = audit.Where(e => e.User == OperatorToken)
            .Select(e => new RbacRequest(e.Verb, e.Group, e.Resource, e.Subresource, e.Namespace, e.Name)).ToList();
        var denied = requests.Where(r => !policy.Allows(r)).Select(r => r.ToString()).Distinct().ToList();
        Assert.True(denied.Count == 0, "the chart's RBAC denies requests the operator made:\n" + string.Join("\n", denied));

        // Not vacuous: the informers, the applier, status writes and the Lease were all exercised.
        var seen = requests.Select(r => $"{r.Verb} {r.Resource}{(r.Subresource is null ? "" : "/" + r.Subresource)}").ToHashSet(StringComparer.Ordinal);
        foreach (var expected in new[]
        {
            "list kafkas", "watch kafkas", "watch kafkanodepools", "list pods", "watch pods", "create pods", "patch strimzipodsets", "patch strimzipodsets/status", "patch services", "patch configmaps",
            "patch roles", "patch rolebindings", "patch serviceaccounts", "patch poddisruptionbudgets", "patch networkpolicies", "patch ingresses",
            "delete ingresses", "patch kafkas/status", "patch kafkanodepools/status", "get leases", "create leases", "update leases",
        })
        {
            Assert.Contains(expected, seen);
        }

        Assert.All(requests, r => Assert.Contains(r.Namespace, new[] { ReleaseNamespace, WatchedNamespace }));
    }

    [Fact]
    public async Task ClusterOperator_RolesItCreates_GrantNothingItDoesNotHold()
    {
        // Kubernetes refuses a Role (or a RoleBinding to it) granting what its creator does not hold (no escalate/bind verbs here).
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await InstallAsync(server, client);
        var manifests = RenderedManifests.Render("watchNamespaces: [" + WatchedNamespace + "]");
        var policy = new RbacPolicy(manifests, ReleaseNamespace, "strimzi-cluster-operator");
        await CreateExampleAsync(client, "kafka/kafka-external-listeners.yaml", WatchedNamespace);
        using var stop = new CancellationTokenSource();
        var op = new Operator.Reconcilers.ClusterOperator(client, new Operator.Reconcilers.ClusterOperatorOptions(WatchedNamespace), TimeProvider.System,
            new Random(7), NullLoggerFactory.Instance);
        var run = op.RunAsync(stop.Token);
        try
        {
            var roles = await EventuallyAsync(async () => (await client.RbacAuthorizationV1.ListNamespacedRoleAsync(WatchedNamespace)).Items, run, "the operator's Role");

            var role = Assert.Single(roles);
            foreach (var rule in role.Rules)
            {
                foreach (var (verb, group, resource, name) in from v in rule.Verbs from g in rule.ApiGroups from r in rule.Resources
                         from n in rule.ResourceNames?.Count > 0 ? rule.ResourceNames.Select(n => (string?)n) : [null] select (v, g, r, n))
                {
                    var parts = resource.Split('/', 2);
                    var request = new RbacRequest(verb, group, parts[0], parts.Length > 1 ? parts[1] : null, WatchedNamespace, name);
                    Assert.True(policy.Allows(request), $"Role {role.Metadata.Name} grants {request}, which the chart does not give the operator");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(Timeout);
            op.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(UpcomingCalls))]
    public void ChartRbac_UpcomingOperatorCalls_AllowedInEveryWatchedNamespace(string verb, string group, string resource, string? subresource)
    {
        foreach (var overrides in new[] { "", "watchNamespaces: [kafka-a, kafka-b]", "watchAnyNamespace: true" })
        {
            var policy = new RbacPolicy(RenderedManifests.Render(overrides), ReleaseNamespace, "strimzi-cluster-operator");
            foreach (var ns in overrides.Length == 0 ? [ReleaseNamespace] : new[] { ReleaseNamespace, "kafka-a", "kafka-b" })
            {
                Assert.True(policy.Allows(new RbacRequest(verb, group, resource, subresource, ns, "my-cluster-broker-0")), $"{verb} {resource} in {ns} with '{overrides}'");
            }
        }
    }

    [Fact]
    public void ChartRbac_OutsideTheWatchedNamespacesOrAnotherLease_Denied()
    {
        var policy = new RbacPolicy(RenderedManifests.Render("watchNamespaces: [kafka-a]"), ReleaseNamespace, "strimzi-cluster-operator");

        Assert.True(policy.Allows(new RbacRequest("patch", "", "secrets", null, "kafka-a", "x")));
        Assert.False(policy.Allows(new RbacRequest("patch", "", "secrets", null, "kafka-b", "x")));
        Assert.False(policy.Allows(new RbacRequest("update", "coordination.k8s.io", "leases", null, ReleaseNamespace, "someone-elses-lease")));
        Assert.False(policy.Allows(new RbacRequest("update", "coordination.k8s.io", "leases", null, "kafka-a", "strimzi-cluster-operator")));
        Assert.False(policy.Allows(new RbacRequest("delete", "kafka.strimzi.io", "kafkas", null, "kafka-a", "my-cluster")));
        Assert.False(new RbacPolicy(RenderedManifests.Render(), ReleaseNamespace, "someone-else").Allows(new RbacRequest("get", "", "pods", null, ReleaseNamespace, "p")));
    }

    /// <summary>What <c>helm install</c> does before the templates: the namespaces exist, the chart's crds/ are created.</summary>
    private static async Task InstallAsync(KubeApiServer server, Kubernetes client)
    {
        foreach (var ns in new[] { ReleaseNamespace, WatchedNamespace })
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        }

        var crds = Directory.GetFiles(Path.Combine(HelmChart.ChartDirectory, "crds"), "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(f => Manifests.ReadYaml(File.ReadAllText(f)));
        await ApiServerApply.CreateAllAsync(server, crds);
    }

    /// <summary>The container's environment as the kubelet would set it: values, and the pod's namespace and name for fieldRefs.</summary>
    private static Dictionary<string, string> ContainerEnvironment(JsonObject deployment)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray())
        {
            var name = (string)item!["name"]!;
            env[name] = (string?)item["value"] ?? (string?)item["valueFrom"]!["fieldRef"]!["fieldPath"] switch
            {
                "metadata.namespace" => ReleaseNamespace,
                "metadata.name" => OperatorPod,
                var path => throw new Xunit.Sdk.XunitException($"unexpected fieldRef {path} in {name}"),
            };
        }

        return env;
    }

    private static async Task CreateExampleAsync(Kubernetes client, string example, string ns)
    {
        foreach (var doc in Manifests.ReadYaml(await File.ReadAllTextAsync(Path.Combine(Repo.Root, "examples", example))))
        {
            var apiVersion = (string)doc["apiVersion"]!;
            var plural = StrimziCrds.All.Single(c => c.Kind == (string?)doc["kind"]).Plural;
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(doc, StrimziGroup.Name, apiVersion.Split('/')[1], ns, plural);
        }
    }

    /// <summary>Marks each Kafka pod Ready as the pod-set controller creates it, until the Kafka is Ready.</summary>
    private static Task ReadyAsync(KubeApiServer server, Kubernetes client, string ns, Task run) => EventuallyAsync(async () =>
    {
        foreach (var pod in (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "strimzi.io/kind=Kafka")).Items)
        {
            if (pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") != true)
            {
                await server.SetPodReadyAsync(ns, pod.Metadata.Name);
            }
        }

        var kafka = JsonSerializer.SerializeToNode(await client.CustomObjects.GetNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, ns, "kafkas", "my-cluster"))!;
        return kafka["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == ConditionTypes.Ready && (string?)c["status"] == "True") == true;
    }, run, $"my-cluster in {ns} to be Ready");

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Task run, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (run.IsCompleted)
            {
                await run;
                Assert.Fail($"the operator stopped while waiting for {what}");
            }

            var value = await probe();
            if (value is true or ICollection<V1Role> { Count: > 0 })
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(100);
        }
    }
}
