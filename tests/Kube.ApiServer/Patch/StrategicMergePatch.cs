using System.Text.Json.Nodes;

namespace Kube.ApiServer.Patch;

/// <summary>
/// Strategic merge patch for built-in kinds: maps merge recursively, keyed lists merge by their merge
/// key, finalizers merge as a set, other lists are replaced; null deletes; supports the
/// <c>$patch: delete|replace</c>, <c>$deleteFromPrimitiveList/</c> and <c>$retainKeys</c> directives and
/// ignores <c>$setElementOrder/</c> (order of merged lists is the live order, new items appended).
/// Stateless; thread-safe.
/// </summary>
internal static class StrategicMergePatch
{
    public static JsonObject Apply(JsonObject target, JsonObject patch) => MergeObject((JsonObject)target.DeepClone(), patch);

    private static JsonObject MergeObject(JsonObject target, JsonObject patch)
    {
        if (patch["$patch"]?.GetValue<string>() == "replace")
        {
            var replaced = (JsonObject)patch.DeepClone();
            replaced.Remove("$patch");
            return replaced;
        }
        if (patch["$retainKeys"] is JsonArray retain)
        {
            var keep = retain.Select(k => k!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
            foreach (var key in target.Select(kv => kv.Key).ToList())
            {
                if (!keep.Contains(key))
                {
                    target.Remove(key);
                }
            }
        }
        foreach (var (key, value) in patch)
        {
            if (key.StartsWith("$setElementOrder/", StringComparison.Ordinal) || key is "$retainKeys" or "$patch")
            {
                continue;
            }
            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (target[field] is JsonArray arr && value is JsonArray remove)
                {
                    for (var i = arr.Count - 1; i >= 0; i--)
                    {
                        if (remove.Any(r => JsonNode.DeepEquals(r, arr[i])))
                        {
                            arr.RemoveAt(i);
                        }
                    }
                }
                continue;
            }
            if (value is null)
            {
                target.Remove(key);
                continue;
            }
            var current = target[key];
            JsonNode? merged = (current, value) switch
            {
                (JsonObject co, JsonObject po) => po["$patch"]?.GetValue<string>() == "delete" ? null : MergeObject((JsonObject)co.DeepClone(), po),
                (JsonArray ca, JsonArray pa) => MergeList(key, (JsonArray)ca.DeepClone(), pa),
                (_, JsonObject po) => MergeObject(new JsonObject(), po),
                (_, JsonArray pa) => MergeList(key, new JsonArray(), pa),
                _ => value.DeepClone(),
            };
            // Assigning in place keeps the key where it was, as a typed object's field order would.
            if (merged is null)
            {
                target.Remove(key);
            }
            else
            {
                target[key] = merged;
            }
        }
        return target;
    }

    private static JsonArray MergeList(string field, JsonArray target, JsonArray patch)
    {
        var (kind, keys) = ListKeys.For(field, target.Count > 0 ? target : patch, null, custom: false);
        if (patch.Any(p => p is JsonObject o && o["$patch"]?.GetValue<string>() == "replace"))
        {
            return new JsonArray(patch.Where(p => p is not JsonObject o || o["$patch"] is null).Select(p => p?.DeepClone()).ToArray());
        }
        switch (kind)
        {
            case ListKind.Set:
                foreach (var p in patch)
                {
                    if (!target.Any(t => JsonNode.DeepEquals(t, p)))
                    {
                        target.Add(p?.DeepClone());
                    }
                }
                return target;
            case ListKind.Map:
                foreach (var p in patch)
                {
                    if (p is not JsonObject item)
                    {
                        continue;
                    }
                    var i = ListKeys.IndexOf(target, item, keys);
                    if (item["$patch"]?.GetValue<string>() == "delete")
                    {
                        if (i >= 0)
                        {
                            target.RemoveAt(i);
                        }
                        continue;
                    }
                    if (i >= 0)
                    {
                        var merged = MergeObject((JsonObject)target[i]!.DeepClone(), item);
                        target[i] = merged;
                    }
                    else
                    {
                        target.Add(MergeObject(new JsonObject(), item));
                    }
                }
                return target;
            default:
                return (JsonArray)patch.DeepClone();
        }
    }
}
