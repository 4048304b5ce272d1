using System.Globalization;
using System.Text.Json.Nodes;

namespace Kube.ApiServer.Patch;

/// <summary>RFC 6902 JSON patch (add, remove, replace, move, copy, test). Stateless; thread-safe.</summary>
internal static class JsonPatch
{
    /// <summary>Applies the operations to a copy of <paramref name="doc"/>; throws <see cref="FormatException"/> on failure.</summary>
    public static JsonNode Apply(JsonNode doc, JsonArray ops)
    {
        var root = new JsonObject { ["r"] = doc.DeepClone() };
        foreach (var opNode in ops)
        {
            var op = opNode as JsonObject ?? throw new FormatException("invalid JSON patch operation");
            var kind = op["op"]?.GetValue<string>() ?? throw new FormatException("missing op");
            var path = op["path"]?.GetValue<string>() ?? throw new FormatException("missing path");
            switch (kind)
            {
                case "add":
                    Add(root, path, op["value"]?.DeepClone());
                    break;
                case "remove":
                    Remove(root, path);
                    break;
                case "replace":
                    Replace(root, path, op["value"]?.DeepClone());
                    break;
                case "move":
                    var moved = Remove(root, op["from"]!.GetValue<string>());
                    Add(root, path, moved);
                    break;
                case "copy":
                    Add(root, path, Get(root, op["from"]!.GetValue<string>())?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(root, path), op["value"]))
                    {
                        throw new FormatException($"testing value {path} failed");
                    }
                    break;
                default:
                    throw new FormatException($"Unexpected kind: {kind}");
            }
        }
        return root["r"]!.DeepClone();
    }

    private static (JsonNode Parent, string Last) Resolve(JsonObject root, string pointer)
    {
        var parts = ("/r" + pointer).Split('/').Skip(1).Select(Unescape).ToList();
        JsonNode node = root;
        for (var i = 0; i < parts.Count - 1; i++)
        {
            node = Child(node, parts[i]) ?? throw new FormatException($"doc is missing path: \"{pointer}\"");
        }
        return (node, parts[^1]);
    }

    private static JsonNode? Child(JsonNode node, string key) => node switch
    {
        JsonObject o => o[key],
        JsonArray a when int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
        _ => null,
    };

    private static JsonNode? Get(JsonObject root, string pointer)
    {
        var (parent, last) = Resolve(root, pointer);
        return Child(parent, last);
    }

    private static void Add(JsonObject root, string pointer, JsonNode? value)
    {
        var (parent, last) = Resolve(root, pointer);
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new FormatException($"add operation does not apply: doc is missing path: \"{pointer}\"");
        }
    }

    private static void Replace(JsonObject root, string pointer, JsonNode? value)
    {
        var (parent, last) = Resolve(root, pointer);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                o[last] = value;
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                a[i] = value;
                break;
            default:
                throw new FormatException($"replace operation does not apply: doc is missing key: {pointer}");
        }
    }

    private static JsonNode? Remove(JsonObject root, string pointer)
    {
        var (parent, last) = Resolve(root, pointer);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                var v = o[last];
                o.Remove(last);
                return v;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                var item = a[i];
                a.RemoveAt(i);
                return item;
            default:
                throw new FormatException($"remove operation does not apply: doc is missing path: \"{pointer}\"");
        }
    }

    private static string Unescape(string s) => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
}
