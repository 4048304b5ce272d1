using System.Text.Json.Nodes;

namespace Kube.ApiServer.Patch;

/// <summary>How a list merges: atomically (replaced whole), as a set of scalars, or as a map keyed by fields.</summary>
internal enum ListKind
{
    Atomic,
    Set,
    Map,
}

/// <summary>
/// The merge keys of built-in kinds' lists (the patchMergeKey / listMapKeys of k8s.io/api) and of
/// custom resources' lists (x-kubernetes-list-type and x-kubernetes-list-map-keys). Stateless; thread-safe.
/// </summary>
internal static class ListKeys
{
    /// <summary>
    /// The list at <paramref name="fieldName"/> holding <paramref name="items"/>; <paramref name="schema"/> is the
    /// list's CRD schema node when the kind is a custom resource, else null.
    /// </summary>
    public static (ListKind Kind, string[] Keys) For(string fieldName, JsonArray? items, JsonObject? schema, bool custom)
    {
        if (custom)
        {
            return schema?["x-kubernetes-list-type"]?.GetValue<string>() switch
            {
                "map" => (ListKind.Map, (schema["x-kubernetes-list-map-keys"] as JsonArray)?.Select(k => k!.GetValue<string>()).ToArray() ?? []),
                "set" => (ListKind.Set, []),
                _ => fieldName is "finalizers" ? (ListKind.Set, []) : fieldName is "ownerReferences" ? (ListKind.Map, ["uid"]) : (ListKind.Atomic, []),
            };
        }
        switch (fieldName)
        {
            case "containers" or "initContainers" or "ephemeralContainers" or "env" or "volumes" or "imagePullSecrets":
                return (ListKind.Map, ["name"]);
            case "volumeMounts":
                return (ListKind.Map, ["mountPath"]);
            case "volumeDevices":
                return (ListKind.Map, ["devicePath"]);
            case "conditions":
                return (ListKind.Map, ["type"]);
            case "ownerReferences":
                return (ListKind.Map, ["uid"]);
            case "hostAliases":
                return (ListKind.Map, ["ip"]);
            case "finalizers":
                return (ListKind.Set, []);
            case "ports":
                var first = items?.FirstOrDefault() as JsonObject;
                return first is not null && first.ContainsKey("containerPort")
                    ? (ListKind.Map, ["containerPort", "protocol"])
                    : (ListKind.Map, ["port", "protocol"]);
            default:
                return (ListKind.Atomic, []);
        }
    }

    /// <summary>The item of <paramref name="list"/> whose key fields equal <paramref name="item"/>'s (protocol defaults to TCP).</summary>
    public static int IndexOf(JsonArray list, JsonObject item, string[] keys)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is JsonObject candidate && KeysEqual(candidate, item, keys))
            {
                return i;
            }
        }
        return -1;
    }

    private static bool KeysEqual(JsonObject a, JsonObject b, string[] keys)
    {
        foreach (var k in keys)
        {
            var av = a[k] ?? DefaultKey(k);
            var bv = b[k] ?? DefaultKey(k);
            if (!JsonNode.DeepEquals(av, bv))
            {
                return false;
            }
        }
        return true;
    }

    private static JsonNode? DefaultKey(string key) => key == "protocol" ? JsonValue.Create("TCP") : null;
}
