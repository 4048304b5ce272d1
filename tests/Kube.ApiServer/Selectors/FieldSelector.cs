using System.Text.Json.Nodes;

namespace Kube.ApiServer.Selectors;

/// <summary>
/// A field selector over the fields every kind supports (metadata.name, metadata.namespace) plus a
/// few kind-specific ones (status.phase, spec.nodeName for pods; type for secrets and events' involvedObject.*).
/// Immutable; thread-safe.
/// </summary>
internal sealed class FieldSelector
{
    private readonly List<(string Field, bool Equal, string Value)> _terms;

    private FieldSelector(List<(string, bool, string)> terms) => _terms = terms;

    public static FieldSelector Everything { get; } = new([]);

    /// <summary>Parses "a=b,c!=d"; throws <see cref="FormatException"/> on unknown fields.</summary>
    public static FieldSelector Parse(string? text, IReadOnlySet<string> supportedFields)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }
        var terms = new List<(string, bool, string)>();
        foreach (var raw in text.Split(','))
        {
            var t = raw.Trim();
            var neq = t.IndexOf("!=", StringComparison.Ordinal);
            var eq = t.IndexOf('=', StringComparison.Ordinal);
            string field;
            string value;
            bool equal;
            if (neq >= 0)
            {
                (field, value, equal) = (t[..neq], t[(neq + 2)..], false);
            }
            else if (eq >= 0)
            {
                (field, value, equal) = (t[..eq], t[(eq + 1)..].TrimStart('='), true);
            }
            else
            {
                throw new FormatException($"invalid selector: '{text}'; can't understand '{t}'");
            }
            if (!supportedFields.Contains(field))
            {
                throw new FormatException($"field label not supported: {field}");
            }
            terms.Add((field, equal, value));
        }
        return new FieldSelector(terms);
    }

    public bool Matches(JsonObject obj)
    {
        foreach (var (field, equal, value) in _terms)
        {
            JsonNode? node = obj;
            foreach (var part in field.Split('.'))
            {
                node = node?[part];
            }
            var actual = node is JsonValue v ? (v.TryGetValue<string>(out var s) ? s : v.ToJsonString()) : "";
            if ((actual == value) != equal)
            {
                return false;
            }
        }
        return true;
    }

    public static IReadOnlySet<string> SupportedFields(string group, string plural)
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { "metadata.name", "metadata.namespace" };
        switch (group, plural)
        {
            case ("", "pods"):
                set.UnionWith(["status.phase", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "status.podIP"]);
                break;
            case ("", "secrets"):
                set.Add("type");
                break;
            case ("", "events"):
                set.UnionWith(["involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "reason", "type"]);
                break;
            case ("", "namespaces"):
                set.Add("status.phase");
                break;
        }
        return set;
    }
}
