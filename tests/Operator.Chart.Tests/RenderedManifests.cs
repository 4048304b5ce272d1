using System.Text.Json.Nodes;
using Operator.Api;
using YamlDotNet.RepresentationModel;

namespace Operator.Chart.Tests;

/// <summary>The Kubernetes objects of a rendered chart, as kubectl would read them. Stateless; thread-safe.</summary>
internal static class RenderedManifests
{
    public static readonly Release Release = new("strimzi", "strimzi");

    public static HelmChart Chart { get; } = HelmChart.Load(HelmChart.ChartDirectory);

    /// <summary>Every document of every rendered .yaml template; a document that is neither empty nor a map fails.</summary>
    public static IReadOnlyList<JsonObject> Parse(IReadOnlyDictionary<string, string> rendered)
    {
        var objects = new List<JsonObject>();
        foreach (var (path, text) in rendered.Where(kv => kv.Key.EndsWith(".yaml", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new InvalidOperationException($"{path} does not render to YAML ({e.Message}):\n{text}", e);
            }

            var maps = stream.Documents.Count(d => d.RootNode is YamlMappingNode);
            var empty = stream.Documents.Count(d => d.RootNode is YamlScalarNode { Value: null or "" });
            if (maps + empty != stream.Documents.Count)
            {
                throw new InvalidOperationException($"{path} renders a document that is not a map:\n{text}");
            }

            objects.AddRange(Manifests.ReadYaml(text));
        }

        return objects;
    }

    public static IReadOnlyList<JsonObject> Render(string overrides = "") => Parse(Chart.Render(Release, overrides));

    public static JsonObject Get(this IReadOnlyList<JsonObject> objects, string kind, string name, string? ns = null) =>
        objects.Single(o => (string?)o["kind"] == kind && (string?)o["metadata"]!["name"] == name && (string?)o["metadata"]!["namespace"] == ns);

    /// <summary>The value of an env var of the operator container: its value, or "fieldRef:path".</summary>
    public static string Env(this JsonObject deployment, string name)
    {
        var env = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .Single(e => (string?)e!["name"] == name)!;
        return (string?)env["value"] ?? "fieldRef:" + (string?)env["valueFrom"]!["fieldRef"]!["fieldPath"];
    }
}
