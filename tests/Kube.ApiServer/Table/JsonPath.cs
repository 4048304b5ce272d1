using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kube.ApiServer.Table;

/// <summary>
/// The JSONPath subset printer columns use: <c>.a.b</c>, <c>.a[0]</c>, <c>.a[*].b</c> and
/// <c>.a[?(@.k=="v")].b</c>. Stateless; thread-safe.
/// </summary>
internal static class JsonPath
{
    public static IReadOnlyList<JsonNode?> Evaluate(JsonNode root, string path)
    {
        var current = new List<JsonNode?> { root };
        var p = path.Trim().TrimStart('{').TrimEnd('}').TrimStart('$');
        var i = 0;
        while (i < p.Length && current.Count > 0)
        {
            if (p[i] == '.')
            {
                var end = i + 1;
                while (end < p.Length && p[end] is not ('.' or '['))
                {
                    end++;
                }
                var field = p[(i + 1)..end];
                current = current.Select(n => n is JsonObject o ? o[field] : null).Where(n => n is not null).ToList();
                i = end;
            }
            else if (p[i] == '[')
            {
                var end = p.IndexOf(']', i);
                if (end < 0)
                {
                    return [];
                }
                var inner = p[(i + 1)..end];
                current = Index(current, inner);
                i = end + 1;
            }
            else
            {
                return [];
            }
        }
        return current;
    }

    private static List<JsonNode?> Index(List<JsonNode?> nodes, string inner)
    {
        var result = new List<JsonNode?>();
        foreach (var n in nodes.OfType<JsonArray>())
        {
            if (inner == "*")
            {
                result.AddRange(n);
            }
            else if (inner.StartsWith("?(@.", StringComparison.Ordinal) && inner.EndsWith(')'))
            {
                var expr = inner[4..^1];
                var eq = expr.IndexOf("==", StringComparison.Ordinal);
                if (eq < 0)
                {
                    continue;
                }
                var key = expr[..eq].Trim();
                var literal = expr[(eq + 2)..].Trim().Trim('"', '\'');
                result.AddRange(n.Where(item => item is JsonObject o && o[key] is JsonValue v
                    && (v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString()) == literal));
            }
            else if (int.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var idx))
            {
                if (idx < 0)
                {
                    idx += n.Count;
                }
                if (idx >= 0 && idx < n.Count)
                {
                    result.Add(n[idx]);
                }
            }
        }
        return result;
    }
}
