using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Operator.Api;

/// <summary>
/// Reads YAML manifests (one or more documents) into JSON with YAML 1.2 core-schema scalars, and JSON into
/// the typed resources. Stateless; thread-safe.
/// </summary>
public static partial class Manifests
{
    /// <summary>Options matching the API: Strimzi field names come from attributes, nulls are left out.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Every non-empty document of a YAML stream, as JSON objects.</summary>
    public static IReadOnlyList<JsonObject> ReadYaml(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var result = new List<JsonObject>();
        foreach (var document in stream.Documents)
        {
            if (ToJson(document.RootNode) is JsonObject obj)
            {
                result.Add(obj);
            }
        }

        return result;
    }

    /// <summary>The typed resource for a manifest of kind Kafka, KafkaNodePool, KafkaTopic or KafkaUser.</summary>
    public static object ToResource(JsonObject manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var kind = (string?)manifest["kind"];
        return kind switch
        {
            "Kafka" => manifest.Deserialize<Kafka>(JsonOptions)!,
            "KafkaNodePool" => manifest.Deserialize<KafkaNodePool>(JsonOptions)!,
            "KafkaTopic" => manifest.Deserialize<KafkaTopic>(JsonOptions)!,
            "KafkaUser" => manifest.Deserialize<KafkaUser>(JsonOptions)!,
            _ => throw new ArgumentException($"Unsupported kind '{kind}'.", nameof(manifest)),
        };
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => ToObject(map),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode scalar => ToScalar(scalar),
        _ => throw new FormatException($"Unsupported YAML node at {node.Start}."),
    };

    private static JsonObject ToObject(YamlMappingNode map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            obj[((YamlScalarNode)key).Value ?? string.Empty] = ToJson(value);
        }

        return obj;
    }

    private static JsonValue? ToScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? string.Empty;
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }

        if (text is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }

        if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }

        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
