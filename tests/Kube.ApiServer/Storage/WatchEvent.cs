using System.Text.Json.Nodes;

namespace Kube.ApiServer.Storage;

/// <summary>
/// One committed change. <see cref="Json"/> is the object as written (a string, so any number of
/// readers can parse it concurrently). Immutable; thread-safe.
/// </summary>
internal sealed record WatchEvent(string Type, string StorageKey, string Namespace, string Name, long ResourceVersion, string Json)
{
    public JsonObject ParseObject() => (JsonObject)JsonNode.Parse(Json)!;
}
