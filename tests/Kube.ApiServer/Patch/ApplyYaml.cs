using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Kube.ApiServer.Patch;

/// <summary>Reads an apply configuration sent as JSON or YAML (application/apply-patch+yaml). Stateless; thread-safe.</summary>
internal static class ApplyYaml
{
    public static JsonObject Parse(string text)
    {
        try
        {
            if (JsonNode.Parse(text) is JsonObject json)
            {
                return json;
            }
        }
        catch (JsonException)
        {
            // Not JSON: YAML below.
        }
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Count > 0 && Convert(stream.Documents[0].RootNode) is JsonObject o
            ? o
            : throw new JsonException("apply configuration must be an object");
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            new KeyValuePair<string, JsonNode?>(((YamlScalarNode)kv.Key).Value ?? "", Convert(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(Convert).ToArray()),
        YamlScalarNode s => Scalar(s),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode s)
    {
        var v = s.Value ?? "";
        if (s.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted or YamlDotNet.Core.ScalarStyle.Literal or YamlDotNet.Core.ScalarStyle.Folded)
        {
            return JsonValue.Create(v);
        }
        if (v is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }
        if (v is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }
        if (v is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }
        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && v.Any(char.IsDigit))
        {
            return JsonValue.Create(d);
        }
        return JsonValue.Create(v);
    }
}
