using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kube.ApiServer.Discovery;

namespace Kube.ApiServer.Table;

/// <summary>
/// meta.k8s.io/v1 Table output (what <c>kubectl get</c> asks for): Name plus either a CRD's
/// additionalPrinterColumns or Age. Stateless apart from the injected clock; thread-safe.
/// </summary>
internal sealed class TableConverter
{
    private readonly TimeProvider _time;

    public TableConverter(TimeProvider time) => _time = time;

    public static bool Wants(string? accept) =>
        accept is not null && accept.Contains("as=Table", StringComparison.Ordinal);

    public const string ContentType = "application/json;as=Table;v=v1;g=meta.k8s.io";

    public JsonObject Convert(ResourceType type, IEnumerable<JsonObject> objects, string resourceVersion, bool includeObject)
    {
        var columns = Columns(type);
        var defs = new JsonArray(new JsonObject
        {
            ["name"] = "Name", ["type"] = "string", ["format"] = "name", ["priority"] = 0,
            ["description"] = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
        });
        foreach (var c in columns)
        {
            var def = new JsonObject { ["name"] = c.Name, ["type"] = c.Printer.Type, ["format"] = c.Printer.Format ?? "", ["description"] = c.Printer.Description, ["priority"] = c.Printer.Priority };
            defs.Add(def);
        }
        var rows = new JsonArray();
        foreach (var obj in objects)
        {
            var cells = new JsonArray(obj["metadata"]?["name"]?.DeepClone());
            foreach (var c in columns)
            {
                cells.Add(c.Computed is { } computed
                    ? computed(obj)
                    : Cell(c.Printer, JsonPath.Evaluate(obj, c.Printer.JsonPath)));
            }
            JsonObject rowObject = includeObject
                ? (JsonObject)obj.DeepClone()
                : new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = "meta.k8s.io/v1",
                    ["metadata"] = obj["metadata"]?.DeepClone(),
                };
            rows.Add(new JsonObject { ["cells"] = cells, ["object"] = rowObject });
        }
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
            ["columnDefinitions"] = defs,
            ["rows"] = rows,
        };
    }

    /// <summary>A column: a JSONPath printer column, or a computed built-in one (whose Age reads creationTimestamp).</summary>
    private sealed record Column(string Name, PrinterColumn Printer, Func<JsonObject, JsonNode?>? Computed);

    private static readonly PrinterColumn AgeColumn =
        new("Age", "date", null, "CreationTimestamp is a timestamp representing the server time when this object was created.", 0, ".metadata.creationTimestamp");

    private static IReadOnlyList<Column> Columns(ResourceType type)
    {
        if (type.Custom is { PrinterColumns.Count: > 0 } custom)
        {
            return [.. custom.PrinterColumns.Select(c => new Column(c.Name, c, null))];
        }

        if (type.Custom is null && BuiltInColumns.For(type.Group, type.Plural) is { } builtIn)
        {
            return [.. builtIn.Select(c => c.DatePath is { } datePath
                ? new Column(c.Name, new PrinterColumn(c.Name, "date", null, c.Description, c.Priority, datePath), null)
                : new Column(c.Name, new PrinterColumn(c.Name, c.Type, null, c.Description, c.Priority, ""), c.Cell))];
        }

        return [new Column("Age", AgeColumn, null)];
    }

    private JsonNode? Cell(PrinterColumn column, IReadOnlyList<JsonNode?> values)
    {
        if (values.Count == 0 || values[0] is null)
        {
            return null;
        }
        if (column.Type == "date" && values[0] is JsonValue dv && dv.TryGetValue<string>(out var ts)
            && DateTimeOffset.TryParse(ts, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
        {
            return HumanDuration(_time.GetUtcNow() - when);
        }
        if (values.Count > 1)
        {
            return string.Join(",", values.Select(Text));
        }
        var v = values[0]!;
        return column.Type switch
        {
            "integer" or "number" or "boolean" when v is JsonValue => v.DeepClone(),
            _ => Text(v),
        };
    }

    private static string Text(JsonNode? v) =>
        v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : v?.ToJsonString(JsonOptions.Compact) ?? "";

    /// <summary>apimachinery's duration.HumanDuration, as kubectl shows ages.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        if (d < TimeSpan.FromSeconds(-1))
        {
            return "<invalid>";
        }
        if (d < TimeSpan.Zero)
        {
            return "0s";
        }
        var seconds = (long)d.TotalSeconds;
        if (seconds < 120)
        {
            return $"{seconds}s";
        }
        var minutes = (long)d.TotalMinutes;
        if (minutes < 10)
        {
            var s = seconds % 60;
            return s == 0 ? $"{minutes}m" : $"{minutes}m{s}s";
        }
        if (minutes < 180)
        {
            return $"{minutes}m";
        }
        var hours = (long)d.TotalHours;
        if (hours < 8)
        {
            var m = minutes % 60;
            return m == 0 ? $"{hours}h" : $"{hours}h{m}m";
        }
        if (hours < 48)
        {
            return $"{hours}h";
        }
        var days = hours / 24;
        if (hours < 192)
        {
            var h = hours % 24;
            return h == 0 ? $"{days}d" : $"{days}d{h}h";
        }
        if (hours < 24 * 365 * 2)
        {
            return $"{days}d";
        }
        var years = days / 365;
        return hours < 24 * 365 * 8 ? $"{years}y{days % 365}d" : $"{years}y";
    }
}
