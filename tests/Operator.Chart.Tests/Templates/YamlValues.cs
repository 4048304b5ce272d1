using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Operator.Chart.Tests.Templates;

/// <summary>
/// Helm values as plain objects: YAML read with core-schema scalars into dictionaries, lists, strings, booleans,
/// longs, doubles and null; Helm's deep merge of overrides; and <c>toYaml</c> output (keys sorted, as Helm's JSON
/// round trip sorts them). Stateless; thread-safe.
/// </summary>
internal static partial class YamlValues
{
    private static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The single document of <paramref name="yaml"/> (an empty document is an empty map).</summary>
    public static Dictionary<string, object?> LoadMap(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? new Dictionary<string, object?>(StringComparer.Ordinal)
            : From(stream.Documents[0].RootNode) switch
            {
                Dictionary<string, object?> map => map,
                null => new Dictionary<string, object?>(StringComparer.Ordinal),
                _ => throw new FormatException("values must be a YAML map"),
            };
    }

    /// <summary>Helm's merge: maps merge key by key, anything else in <paramref name="overrides"/> replaces, null deletes.</summary>
    public static Dictionary<string, object?> Merge(Dictionary<string, object?> values, Dictionary<string, object?> overrides)
    {
        var result = new Dictionary<string, object?>(values, StringComparer.Ordinal);
        foreach (var (key, value) in overrides)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else if (value is Dictionary<string, object?> map && result.TryGetValue(key, out var existing) && existing is Dictionary<string, object?> current)
            {
                result[key] = Merge(current, map);
            }
            else
            {
                result[key] = value;
            }
        }

        return result;
    }

    /// <summary>Helm's toYaml: block style, keys sorted, no trailing newline.</summary>
    public static string ToYaml(object? value)
    {
        var sb = new StringBuilder();
        switch (value)
        {
            case IDictionary { Count: > 0 } or IList { Count: > 0 }:
                Emit(value, 0, sb);
                break;
            default:
                sb.Append(Inline(value)).Append('\n');
                break;
        }

        return sb.ToString().TrimEnd('\n');
    }

    private static void Emit(object value, int indent, StringBuilder sb)
    {
        var pad = new string(' ', indent);
        if (value is IDictionary<string, object?> map)
        {
            foreach (var key in map.Keys.Order(StringComparer.Ordinal))
            {
                sb.Append(pad).Append(Scalar(key)).Append(':');
                Child(map[key], indent, sb, inList: false);
            }
        }
        else
        {
            foreach (var item in (IList)value)
            {
                sb.Append(pad).Append('-');
                Child(item, indent, sb, inList: true);
            }
        }
    }

    /// <summary>What follows "key:" or "-": a nested block, or a scalar or empty collection on the same line.</summary>
    private static void Child(object? value, int indent, StringBuilder sb, bool inList)
    {
        if (value is IDictionary { Count: > 0 } or IList { Count: > 0 })
        {
            if (inList)
            {
                // The first line of a nested block goes on the dash's line.
                var nested = new StringBuilder();
                Emit(value, indent + 2, nested);
                sb.Append(' ').Append(nested.ToString(indent + 2, nested.Length - indent - 2));
            }
            else
            {
                sb.Append('\n');
                Emit(value, value is IList ? indent : indent + 2, sb);
            }
        }
        else
        {
            sb.Append(' ').Append(Inline(value)).Append('\n');
        }
    }

    private static string Inline(object? value) => value switch
    {
        IDictionary => "{}",
        IList => "[]",
        _ => Scalar(value),
    };

    private static string Scalar(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string s => PlainSafe().IsMatch(s) && !NonString().IsMatch(s) ? s : JsonSerializer.Serialize(s, QuoteOptions),
        _ => throw new FormatException($"toYaml cannot write a {value.GetType().Name}"),
    };

    private static object? From(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => From(kv.Value), StringComparer.Ordinal),
        YamlSequenceNode seq => seq.Children.Select(From).ToList(),
        YamlScalarNode scalar => Resolve(scalar),
        _ => throw new FormatException($"unsupported YAML node at {node.Start}"),
    };

    /// <summary>YAML 1.2 core schema for plain scalars; quoted and block scalars are strings.</summary>
    private static object? Resolve(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            return text;
        }

        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            _ when Integer().IsMatch(text) => long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
            _ when Float().IsMatch(text) => double.Parse(text, CultureInfo.InvariantCulture),
            _ => text,
        };
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();

    /// <summary>Strings that can be written unquoted (no indicators, spaces or colons).</summary>
    [GeneratedRegex("^[A-Za-z0-9_/.][A-Za-z0-9_./@+=-]*$")]
    private static partial Regex PlainSafe();

    /// <summary>Plain strings some YAML reader (1.1 or 1.2) would take for a boolean, null or number.</summary>
    [GeneratedRegex(@"^(?i:y|n|yes|no|on|off|true|false|null|~|\.inf|\.nan|0x[0-9a-f]+|0o[0-7]+)$|^[-+]?[0-9._]+([eE][-+]?[0-9]+)?$")]
    private static partial Regex NonString();
}
