using Operator.Chart.Tests.Templates;

namespace Operator.Chart.Tests;

/// <summary>Helm's release object: <c>.Release.Name</c>, <c>.Release.Namespace</c>. Immutable.</summary>
internal sealed record Release(string Name, string Namespace);

/// <summary>
/// A chart directory rendered as <c>helm template</c> would: Chart.yaml as <c>.Chart</c> (keys capitalised),
/// values.yaml deep-merged with overrides as <c>.Values</c>, the release as <c>.Release</c>; every file of templates/
/// is parsed (so all <c>define</c>s are visible everywhere) and every file not starting with '_' is rendered.
/// Immutable after loading; thread-safe.
/// </summary>
internal sealed class HelmChart
{
    private readonly Dictionary<string, object?> _chart;
    private readonly Dictionary<string, object?> _values;
    private readonly Dictionary<string, IReadOnlyList<TemplateNode>> _templates;
    private readonly TemplateRenderer _renderer;

    private HelmChart(Dictionary<string, object?> chart, Dictionary<string, object?> values, Dictionary<string, IReadOnlyList<TemplateNode>> templates,
        Dictionary<string, IReadOnlyList<TemplateNode>> defines)
    {
        _chart = chart;
        _values = values;
        _templates = templates;
        _renderer = new TemplateRenderer(defines);
    }

    public static string ChartDirectory { get; } = Path.Combine(Repo.Root, "charts", "strimzi-kafka-operator");

    public IReadOnlyDictionary<string, object?> DefaultValues => _values;

    /// <summary>Chart.yaml's fields as Helm exposes them (name as Name, appVersion as AppVersion ...).</summary>
    public IReadOnlyDictionary<string, object?> Metadata => _chart;

    public static HelmChart Load(string directory)
    {
        var chart = YamlValues.LoadMap(File.ReadAllText(Path.Combine(directory, "Chart.yaml")))
            .ToDictionary(kv => char.ToUpperInvariant(kv.Key[0]) + kv.Key[1..], kv => kv.Value, StringComparer.Ordinal);
        var values = YamlValues.LoadMap(File.ReadAllText(Path.Combine(directory, "values.yaml")));
        var defines = new Dictionary<string, IReadOnlyList<TemplateNode>>(StringComparer.Ordinal);
        var templates = new Dictionary<string, IReadOnlyList<TemplateNode>>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(directory, "templates")).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var nodes = TemplateParser.Parse("templates/" + name, File.ReadAllText(file), defines);
            if (!name.StartsWith('_'))
            {
                templates["templates/" + name] = nodes;
            }
        }

        return new HelmChart(chart, values, templates, defines);
    }

    /// <summary>Every rendered template by path (templates/NOTES.txt included), with <paramref name="overrides"/> (YAML) over values.yaml.</summary>
    public IReadOnlyDictionary<string, string> Render(Release release, string overrides = "")
    {
        var data = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Values"] = YamlValues.Merge(_values, YamlValues.LoadMap(overrides)),
            ["Chart"] = _chart,
            ["Release"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["Name"] = release.Name,
                ["Namespace"] = release.Namespace,
                ["Service"] = "Helm",
                ["IsInstall"] = true,
                ["Revision"] = 1L,
            },
        };
        return _templates.ToDictionary(kv => kv.Key, kv => _renderer.Render(kv.Key, kv.Value, data), StringComparer.Ordinal);
    }
}
