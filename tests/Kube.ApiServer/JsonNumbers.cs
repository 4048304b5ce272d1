using System.Globalization;
using System.Text.Json.Nodes;

namespace Kube.ApiServer;

/// <summary>
/// Numeric reads that work whatever CLR type backs a JsonValue (parsed element, int, long, double).
/// Stateless; thread-safe.
/// </summary>
internal static class JsonNumbers
{
    public static long AsInt64(this JsonNode node) =>
        long.TryParse(node.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
            ? l
            : (long)double.Parse(node.ToJsonString(), CultureInfo.InvariantCulture);

    public static double AsDouble(this JsonNode node) => double.Parse(node.ToJsonString(), CultureInfo.InvariantCulture);
}
