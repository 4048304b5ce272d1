using System.Text.Json.Nodes;

namespace Kube.ApiServer.Patch;

/// <summary>RFC 7386 JSON merge patch. Stateless; thread-safe.</summary>
internal static class MergePatch
{
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p)
        {
            return patch?.DeepClone();
        }
        var result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in p)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = Apply(result[key]?.DeepClone(), value);
            }
        }
        return result;
    }
}
