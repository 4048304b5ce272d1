using System.Text.Encodings.Web;
using System.Text.Json;

namespace Kube.ApiServer;

/// <summary>Serializer options shared by the server. Immutable after construction; thread-safe.</summary>
internal static class JsonOptions
{
    /// <summary>Compact output that escapes only what JSON requires (like Go's encoder without HTML escaping).</summary>
    public static readonly JsonSerializerOptions Compact = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };
}
