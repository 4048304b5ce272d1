using System.Text.Json.Nodes;

namespace Kube.ApiServer.Patch;

/// <summary>
/// The set of field paths an object sets, in managedFields' FieldsV1 element syntax
/// (<c>f:name</c>, <c>k:{"name":"x"}</c>, <c>v:"value"</c>, <c>.</c>). Paths are joined by '\n'.
/// Not thread-safe; owned by one transaction.
/// </summary>
internal static class FieldSet
{
    private static readonly HashSet<string> SystemMeta =
        ["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"];

    /// <summary>The leaf paths of <paramref name="obj"/>: status only when <paramref name="status"/>, else everything but status.</summary>
    public static HashSet<string> Extract(JsonObject obj, JsonObject? schema, bool custom, bool status)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in obj)
        {
            if (key is "apiVersion" or "kind" || (key == "status") != status)
            {
                continue;
            }
            if (key == "metadata" && value is JsonObject meta)
            {
                foreach (var (mk, mv) in meta)
                {
                    if (!SystemMeta.Contains(mk))
                    {
                        Walk(mv, "f:metadata\nf:" + mk, mk, null, custom, set);
                    }
                }
                continue;
            }
            Walk(value, "f:" + key, key, schema?["properties"]?[key] as JsonObject, custom, set);
        }
        return set;
    }

    private static void Walk(JsonNode? node, string path, string field, JsonObject? schema, bool custom, HashSet<string> set)
    {
        switch (node)
        {
            case JsonObject o when o.Count > 0:
                foreach (var (k, v) in o)
                {
                    var child = schema?["properties"]?[k] as JsonObject ?? schema?["additionalProperties"] as JsonObject;
                    Walk(v, path + "\nf:" + k, k, child, custom, set);
                }
                break;
            case JsonArray a:
                var (kind, keys) = ListKeys.For(field, a, schema, custom);
                switch (kind)
                {
                    case ListKind.Map:
                        foreach (var item in a.OfType<JsonObject>())
                        {
                            var itemPath = path + "\n" + KeyElement(item, keys);
                            set.Add(itemPath + "\n.");
                            Walk(item, itemPath, field, schema?["items"] as JsonObject, custom, set);
                        }
                        break;
                    case ListKind.Set:
                        foreach (var item in a)
                        {
                            set.Add(path + "\nv:" + (item?.ToJsonString(JsonOptions.Compact) ?? "null"));
                        }
                        break;
                    default:
                        set.Add(path);
                        break;
                }
                break;
            default:
                set.Add(path);
                break;
        }
    }

    private static string KeyElement(JsonObject item, string[] keys)
    {
        var k = new JsonObject();
        foreach (var key in keys.OrderBy(x => x, StringComparer.Ordinal))
        {
            k[key] = item[key]?.DeepClone() ?? (key == "protocol" ? "TCP" : null);
        }
        return "k:" + k.ToJsonString(JsonOptions.Compact);
    }

    /// <summary>The value at a path (null when absent); "." yields the list item itself.</summary>
    public static JsonNode? ValueAt(JsonObject root, string path)
    {
        JsonNode? node = root;
        foreach (var element in path.Split('\n'))
        {
            node = Step(node, element);
            if (node is null)
            {
                return null;
            }
        }
        return node;
    }

    private static JsonNode? Step(JsonNode? node, string element)
    {
        if (element == ".")
        {
            return node;
        }
        if (element.StartsWith("f:", StringComparison.Ordinal))
        {
            return (node as JsonObject)?[element[2..]];
        }
        if (node is not JsonArray a)
        {
            return null;
        }
        if (element.StartsWith("v:", StringComparison.Ordinal))
        {
            var v = JsonNode.Parse(element[2..]);
            return a.FirstOrDefault(x => JsonNode.DeepEquals(x, v));
        }
        var key = (JsonObject)JsonNode.Parse(element[2..])!;
        return a.FirstOrDefault(x => x is JsonObject o && key.All(kv => JsonNode.DeepEquals(o[kv.Key] ?? (kv.Key == "protocol" ? "TCP" : null), kv.Value)));
    }

    /// <summary>Removes the field or list item a path names, if present.</summary>
    public static void RemoveAt(JsonObject root, string path)
    {
        var elements = path.Split('\n');
        if (elements[^1] == ".")
        {
            elements = elements[..^1];
        }
        JsonNode? parent = root;
        foreach (var e in elements[..^1])
        {
            parent = Step(parent, e);
        }
        var last = elements[^1];
        if (parent is JsonObject o && last.StartsWith("f:", StringComparison.Ordinal))
        {
            o.Remove(last[2..]);
        }
        else if (parent is JsonArray a && Step(a, last) is { } item)
        {
            a.Remove(item);
        }
    }

    public static JsonObject ToFieldsV1(IEnumerable<string> paths)
    {
        var root = new JsonObject();
        foreach (var path in paths.OrderBy(p => p, StringComparer.Ordinal))
        {
            var node = root;
            foreach (var e in path.Split('\n'))
            {
                if (node[e] is not JsonObject child)
                {
                    child = new JsonObject();
                    node[e] = child;
                }
                node = child;
            }
        }
        return root;
    }

    public static HashSet<string> FromFieldsV1(JsonObject? fields)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        void Walk(JsonObject node, string prefix)
        {
            foreach (var (k, v) in node)
            {
                var p = prefix.Length == 0 ? k : prefix + "\n" + k;
                if (v is JsonObject child && child.Count > 0)
                {
                    Walk(child, p);
                }
                else
                {
                    set.Add(p);
                }
            }
        }
        if (fields is not null)
        {
            Walk(fields, "");
        }
        return set;
    }

    /// <summary>".spec.replicas" style rendering of a path, as apply conflicts name fields.</summary>
    public static string Render(string path) =>
        string.Concat(path.Split('\n').Where(e => e != ".").Select(RenderElement));

    private static string RenderElement(string e)
    {
        if (e.StartsWith("f:", StringComparison.Ordinal))
        {
            return "." + e[2..];
        }
        if (e.StartsWith("k:", StringComparison.Ordinal) && JsonNode.Parse(e[2..]) is JsonObject key)
        {
            return "[" + string.Join(",", key.Select(kv => kv.Key + "=" + kv.Value?.ToJsonString(JsonOptions.Compact))) + "]";
        }
        return "[=" + e[2..] + "]";
    }
}
