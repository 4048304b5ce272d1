using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kube.ApiServer.Validation;

/// <summary>The kinds of field error apimachinery's field package knows, with their wire names.</summary>
internal enum FieldErrorType
{
    Invalid,
    Required,
    Duplicate,
    NotSupported,
    Forbidden,
    TooLong,
    NotFound,
}

/// <summary>
/// One field validation error, rendered like apimachinery's <c>field.Error</c>.
/// Immutable; thread-safe.
/// </summary>
internal sealed record FieldError(FieldErrorType Type, string Field, JsonNode? Value, string Detail, bool HasValue = true)
{
    public static FieldError Invalid(string field, JsonNode? value, string detail) => new(FieldErrorType.Invalid, field, value, detail);
    public static FieldError Required(string field, string detail = "") => new(FieldErrorType.Required, field, null, detail, HasValue: false);
    public static FieldError Forbidden(string field, string detail) => new(FieldErrorType.Forbidden, field, null, detail, HasValue: false);
    public static FieldError Duplicate(string field, JsonNode? value) => new(FieldErrorType.Duplicate, field, value, "");
    public static FieldError NotFound(string field, JsonNode? value) => new(FieldErrorType.NotFound, field, value, "");

    public static FieldError NotSupported(string field, JsonNode? value, IEnumerable<string> supported) =>
        new(FieldErrorType.NotSupported, field, value, "supported values: " + string.Join(", ", supported.Select(s => "\"" + s + "\"")));

    /// <summary>Raw-string value (Go's %q of a string).</summary>
    public static FieldError Invalid(string field, string value, string detail) => Invalid(field, JsonValue.Create(value), detail);

    public string CauseReason => Type switch
    {
        FieldErrorType.Required => "FieldValueRequired",
        FieldErrorType.Duplicate => "FieldValueDuplicate",
        FieldErrorType.NotSupported => "FieldValueNotSupported",
        FieldErrorType.Forbidden => "FieldValueForbidden",
        FieldErrorType.TooLong => "FieldValueTooLong",
        FieldErrorType.NotFound => "FieldValueNotFound",
        _ => "FieldValueInvalid",
    };

    private string TypeText => Type switch
    {
        FieldErrorType.Required => "Required value",
        FieldErrorType.Duplicate => "Duplicate value",
        FieldErrorType.NotSupported => "Unsupported value",
        FieldErrorType.Forbidden => "Forbidden",
        FieldErrorType.TooLong => "Too long",
        FieldErrorType.NotFound => "Not found",
        _ => "Invalid value",
    };

    /// <summary>What follows "field: " (the cause's message).</summary>
    public string Body
    {
        get
        {
            var s = TypeText;
            if (HasValue && Type is not (FieldErrorType.Required or FieldErrorType.Forbidden or FieldErrorType.TooLong))
            {
                s += ": " + RenderValue(Value);
            }
            if (Detail.Length > 0)
            {
                s += ": " + Detail;
            }
            return s;
        }
    }

    public override string ToString() => Field + ": " + Body;

    /// <summary>Go's rendering of a bad value: %q for strings, %d for integers, %#v-like for the rest.</summary>
    public static string RenderValue(JsonNode? value)
    {
        if (value is null)
        {
            return "null";
        }
        if (value is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.String:
                    return JsonSerializer.Serialize(v.GetValue<string>(), JsonOptions.Compact);
                case JsonValueKind.Number:
                    return v.ToJsonString();
                case JsonValueKind.True:
                    return "true";
                case JsonValueKind.False:
                    return "false";
            }
        }
        if (value is JsonObject o && o.All(kv => kv.Value is JsonValue sv && sv.GetValueKind() == JsonValueKind.String))
        {
            var pairs = o.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => $"\"{kv.Key}\":\"{kv.Value!.GetValue<string>()}\"");
            return "map[string]string{" + string.Join(", ", pairs) + "}";
        }
        if (value is JsonArray a && a.All(e => e is JsonValue sv && sv.GetValueKind() == JsonValueKind.String))
        {
            return "[]string{" + string.Join(", ", a.Select(e => "\"" + e!.GetValue<string>() + "\"")) + "}";
        }
        return value.GetValueKind() switch
        {
            JsonValueKind.Object => "map[string]interface {}" + string.Create(CultureInfo.InvariantCulture, $"{{...}}"),
            JsonValueKind.Array => "[]interface {}{...}",
            _ => value.ToJsonString(),
        };
    }
}
