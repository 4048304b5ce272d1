using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Operator.Kube;

namespace Operator.Chart.Tests;

/// <summary>The chart rendered without helm (default values, watchNamespaces, watchAnyNamespace) and read as Kubernetes objects.</summary>
public sealed partial class ChartRenderTests
{
    public static TheoryData<string> ValueSets => new()
    {
        "",
        "watchNamespaces: [kafka-a, strimzi, kafka-b]",
        "watchAnyNamespace: true",
        "leaderElection: {enable: false}\nimage: {registry: quay.example, repository: team, tag: '1.2'}\nnodeSelector: {disk: ssd}\n"
            + "tolerations: [{key: dedicated, operator: Equal, value: kafka, effect: NoSchedule}]",
    };

    [Fact]
    public void ChartYaml_NameAndVersions_AreTheProjectsOne()
    {
        var chart = RenderedManifests.Chart.Metadata;

        Assert.Equal("strimzi-kafka-operator", chart["Name"]);
        Assert.Equal("0.1.0", chart["Version"]);
        Assert.Equal("0.1.0", chart["AppVersion"]);
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public void Render_EachValueSet_EveryDocumentIsAKubernetesObjectTheTypedModelsReadWhole(string overrides)
    {
        var objects = RenderedManifests.Render(overrides);

        Assert.NotEmpty(objects);
        foreach (var obj in objects)
        {
            var kind = (string?)obj["kind"];
            var json = obj.ToJsonString();
            object typed = kind switch
            {
                "ServiceAccount" => KubernetesJson.Deserialize<V1ServiceAccount>(json),
                "ClusterRole" => KubernetesJson.Deserialize<V1ClusterRole>(json),
                "ClusterRoleBinding" => KubernetesJson.Deserialize<V1ClusterRoleBinding>(json),
                "RoleBinding" => KubernetesJson.Deserialize<V1RoleBinding>(json),
                "Deployment" => KubernetesJson.Deserialize<V1Deployment>(json),
                _ => throw new Xunit.Sdk.XunitException($"unexpected kind {kind}"),
            };

            // A field the typed model does not know, or a value of the wrong type, does not survive the round trip.
            var back = JsonNode.Parse(KubernetesJson.Serialize(typed));
            Assert.True(JsonSubset.Holds(obj, back), $"{kind} {obj["metadata"]?["name"]} does not read whole as {typed.GetType().Name}:\n{obj}");
            Assert.Matches("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", (string)obj["metadata"]!["name"]!);
        }

        var names = objects.Select(o => $"{o["kind"]}/{o["metadata"]!["namespace"]}/{o["metadata"]!["name"]}").ToList();
        Assert.Equal(names.Distinct().Count(), names.Count);
    }

    [Fact]
    public void Render_DefaultValues_WatchesTheReleaseNamespaceWithStrimzisObjects()
    {
        var objects = RenderedManifests.Render();
        var deployment = objects.Get("Deployment", "strimzi-cluster-operator", "strimzi");

        Assert.Equal("fieldRef:metadata.namespace", deployment.Env("STRIMZI_NAMESPACE"));
        Assert.Equal("strimzi-operator:0.1.0", (string?)deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]);
        Assert.Equal("kafka-broker:latest", deployment.Env("STRIMZI_KAFKA_IMAGE"));
        Assert.Equal("strimzi-cluster-operator", deployment.Env("STRIMZI_LEADER_ELECTION_LEASE_NAME"));
        Assert.Equal("fieldRef:metadata.name", deployment.Env("STRIMZI_LEADER_ELECTION_IDENTITY"));
        Assert.Equal("INFO", deployment.Env("STRIMZI_LOG_LEVEL"));
        Assert.Equal("strimzi-cluster-operator", (string?)deployment["spec"]!["template"]!["spec"]!["serviceAccountName"]);
        objects.Get("ServiceAccount", "strimzi-cluster-operator", "strimzi");
        Assert.Equal(
            ["strimzi-cluster-operator-global", "strimzi-cluster-operator-leader-election", "strimzi-cluster-operator-namespaced", "strimzi-cluster-operator-watched"],
            objects.Where(o => (string?)o["kind"] == "ClusterRole").Select(o => (string)o["metadata"]!["name"]!).Order(StringComparer.Ordinal));
        Assert.Equal(
            ["strimzi/strimzi-cluster-operator", "strimzi/strimzi-cluster-operator-leader-election", "strimzi/strimzi-cluster-operator-watched"],
            objects.Where(o => (string?)o["kind"] == "RoleBinding").Select(o => $"{o["metadata"]!["namespace"]}/{o["metadata"]!["name"]}").Order(StringComparer.Ordinal));
        Assert.Equal("strimzi-cluster-operator-global",
            (string?)objects.Get("ClusterRoleBinding", "strimzi-cluster-operator")["roleRef"]!["name"]);
    }

    [Fact]
    public void Render_WatchNamespaces_BindsInEachOnceAndListsThemWithTheReleaseNamespace()
    {
        var objects = RenderedManifests.Render("watchNamespaces: [kafka-a, strimzi, kafka-b]");

        Assert.Equal("kafka-a,kafka-b,strimzi", objects.Get("Deployment", "strimzi-cluster-operator", "strimzi").Env("STRIMZI_NAMESPACE"));
        foreach (var ns in new[] { "kafka-a", "kafka-b", "strimzi" })
        {
            Assert.Equal("strimzi-cluster-operator-namespaced", (string?)objects.Get("RoleBinding", "strimzi-cluster-operator", ns)["roleRef"]!["name"]);
            Assert.Equal("strimzi-cluster-operator-watched", (string?)objects.Get("RoleBinding", "strimzi-cluster-operator-watched", ns)["roleRef"]!["name"]);
        }

        Assert.Single(objects, o => (string?)o["kind"] == "RoleBinding" && (string?)o["metadata"]!["name"] == "strimzi-cluster-operator-leader-election");
        Assert.Equal(7, objects.Count(o => (string?)o["kind"] == "RoleBinding"));
    }

    [Fact]
    public void Render_WatchAnyNamespace_ClusterRoleBindingsAndStar()
    {
        var objects = RenderedManifests.Render("watchAnyNamespace: true\nwatchNamespaces: [ignored]");

        Assert.Equal("*", objects.Get("Deployment", "strimzi-cluster-operator", "strimzi").Env("STRIMZI_NAMESPACE"));
        Assert.Equal("strimzi-cluster-operator-namespaced", (string?)objects.Get("ClusterRoleBinding", "strimzi-cluster-operator-namespaced")["roleRef"]!["name"]);
        Assert.Equal("strimzi-cluster-operator-watched", (string?)objects.Get("ClusterRoleBinding", "strimzi-cluster-operator-watched")["roleRef"]!["name"]);
        Assert.Equal(["strimzi-cluster-operator-leader-election"],
            objects.Where(o => (string?)o["kind"] == "RoleBinding").Select(o => (string)o["metadata"]!["name"]!));
    }

    [Fact]
    public void Render_OverriddenImageAndScheduling_ReachTheDeployment()
    {
        var objects = RenderedManifests.Render(
            "image: {registry: quay.example, repository: team, tag: '1.2', imagePullSecrets: [{name: pull}]}\nkafka: {image: {registry: quay.example, tag: '4.0'}}\n"
            + "leaderElection: {enable: false}\nlogLevel: DEBUG\nnodeSelector: {disk: ssd}\nresources: {requests: {cpu: 50m}}");
        var deployment = objects.Get("Deployment", "strimzi-cluster-operator", "strimzi");
        var pod = deployment["spec"]!["template"]!["spec"]!;

        Assert.Equal("quay.example/team/strimzi-operator:1.2", (string?)pod["containers"]![0]!["image"]);
        Assert.Equal("quay.example/kafka-broker:4.0", deployment.Env("STRIMZI_KAFKA_IMAGE"));
        Assert.Equal("false", deployment.Env("STRIMZI_LEADER_ELECTION_ENABLED"));
        Assert.Equal("DEBUG", deployment.Env("STRIMZI_LOG_LEVEL"));
        Assert.Equal("pull", (string?)pod["imagePullSecrets"]![0]!["name"]);
        Assert.Equal("ssd", (string?)pod["nodeSelector"]!["disk"]);
        // Helm merges maps: requests.cpu replaced, the rest kept.
        Assert.Equal("""{"limits":{"cpu":"1","memory":"384Mi"},"requests":{"cpu":"50m","memory":"384Mi"}}""", pod["containers"]![0]!["resources"]!.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public void RenderNotes_EachValueSet_NamesTheReleaseNamespace(string overrides)
    {
        var notes = RenderedManifests.Chart.Render(RenderedManifests.Release, overrides)["templates/NOTES.txt"];

        Assert.Contains("namespace strimzi", notes, StringComparison.Ordinal);
    }

    [Fact]
    public void ValuesYaml_EveryTopLevelValue_IsUsedByATemplateAndDocumentedInTheReadme()
    {
        var templates = string.Concat(Directory.GetFiles(Path.Combine(HelmChart.ChartDirectory, "templates")).Select(File.ReadAllText));
        var readme = File.ReadAllText(Path.Combine(HelmChart.ChartDirectory, "README.md"));
        var used = ValuesReference().Matches(templates).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        foreach (var key in RenderedManifests.Chart.DefaultValues.Keys)
        {
            Assert.True(used.Contains(key), $"values.yaml's {key} is used by no template");
            Assert.Contains("`" + key, readme, StringComparison.Ordinal);
        }

        Assert.All(used, k => Assert.True(RenderedManifests.Chart.DefaultValues.ContainsKey(k), $"templates use .Values.{k}, which values.yaml lacks"));
    }

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+)")]
    private static partial Regex ValuesReference();
}
