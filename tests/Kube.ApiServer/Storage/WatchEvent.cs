using System.Text.Json.Nodes;

namespace Kube.ApiServer.Storage;

/// <summary>
/// One committed change. <see cref="Json"/> is the object as written (a string, so any number of
/// readers can parse it concurrently). Immutable; thread-safe.
/// </summary>
internal sealed record WatchEvent(string Type, string StorageKey, string Namespace, string Name, long ResourceVersion, string Json, string? PreviousJson = null)
{
    public JsonObject ParseObject() => (JsonObject)JsonNode.Parse(Json)!;

    /// <summary>For MODIFIED: the object before this change (selector transitions need it).</summary>
    public JsonObject? ParsePrevious() => PreviousJson is null ? null : (JsonObject)JsonNode.Parse(PreviousJson)!;
}
