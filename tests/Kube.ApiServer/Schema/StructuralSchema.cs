using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kube.ApiServer.Validation;

namespace Kube.ApiServer.Schema;

/// <summary>
/// Validation, pruning and defaulting of custom resources against a CRD's structural OpenAPI v3 schema,
/// with the apiserver's (kube-openapi) messages. Stateless; thread-safe.
/// </summary>
internal static class StructuralSchema
{
    /// <summary>
    /// Drops fields the schema does not declare (unless preserved), as the apiserver does before validation; the
    /// dropped paths (<c>spec.items[0].foo</c>) go to <paramref name="removed"/> for fieldValidation.
    /// </summary>
    public static void Prune(JsonNode? node, JsonObject? schema, bool isRoot, List<string>? removed = null, string path = "")
    {
        if (schema is null || node is null || schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true && schema["properties"] is null)
        {
            return;
        }
        switch (node)
        {
            case JsonObject obj:
                var props = schema["properties"] as JsonObject;
                var additional = schema["additionalProperties"] as JsonObject;
                var preserve = schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
                foreach (var key in obj.Select(kv => kv.Key).ToList())
                {
                    if (isRoot && key is "apiVersion" or "kind" or "metadata")
                    {
                        continue;
                    }
                    var childPath = path.Length == 0 ? key : path + "." + key;
                    if (props?[key] is JsonObject child)
                    {
                        Prune(obj[key], child, false, removed, childPath);
                    }
                    else if (additional is not null)
                    {
                        Prune(obj[key], additional, false, removed, childPath);
                    }
                    else if (!preserve)
                    {
                        obj.Remove(key);
                        removed?.Add(childPath);
                    }
                }
                break;
            case JsonArray arr when schema["items"] is JsonObject items:
                for (var i = 0; i < arr.Count; i++)
                {
                    Prune(arr[i], items, false, removed, $"{path}[{i}]");
                }
                break;
        }
    }

    /// <summary>Fills in schema defaults for absent properties of present objects.</summary>
    public static void Default(JsonNode? node, JsonObject? schema)
    {
        if (schema is null || node is null)
        {
            return;
        }
        if (node is JsonObject obj && schema["properties"] is JsonObject props)
        {
            foreach (var (key, child) in props)
            {
                if (!obj.ContainsKey(key) && child?["default"] is { } def)
                {
                    obj[key] = def.DeepClone();
                }
                if (obj[key] is { } value)
                {
                    Default(value, child as JsonObject);
                }
            }
        }
        else if (node is JsonArray arr && schema["items"] is JsonObject items)
        {
            foreach (var item in arr)
            {
                Default(item, items);
            }
        }
    }

    public static void Validate(JsonNode? node, JsonObject schema, string path, List<FieldError> errors)
    {
        if (node is null)
        {
            if (schema["nullable"]?.GetValue<bool>() != true && schema["type"] is not null)
            {
                errors.Add(FieldError.Invalid(path, "null", $"{path} in body must be of type {schema["type"]!.GetValue<string>()}: \"null\""));
            }
            return;
        }
        var actual = TypeName(node);
        var intOrString = schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true;
        if (intOrString)
        {
            if (actual is not ("integer" or "string"))
            {
                errors.Add(FieldError.Invalid(path, actual, $"{path} in body must be of type integer,string: \"{actual}\""));
                return;
            }
        }
        else if (schema["type"]?.GetValue<string>() is { } expected && !TypeMatches(expected, actual))
        {
            errors.Add(FieldError.Invalid(path, actual, $"{path} in body must be of type {expected}: \"{actual}\""));
            return;
        }
        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, node)))
        {
            errors.Add(FieldError.NotSupported(path, node.DeepClone(), allowed.Select(a => a is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : a?.ToJsonString() ?? "null")));
        }
        switch (node)
        {
            case JsonObject obj:
                ValidateObject(obj, schema, path, errors);
                break;
            case JsonArray arr:
                ValidateArray(arr, schema, path, errors);
                break;
            case JsonValue v when actual is "integer" or "number":
                ValidateNumber(v.AsDouble(), v, schema, path, errors);
                break;
            case JsonValue v when actual == "string":
                ValidateString(v.GetValue<string>(), schema, path, errors);
                break;
        }
    }

    private static void ValidateObject(JsonObject obj, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["required"] is JsonArray required)
        {
            foreach (var r in required)
            {
                var name = r!.GetValue<string>();
                if (!obj.ContainsKey(name))
                {
                    errors.Add(FieldError.Required(Join(path, name), ""));
                }
            }
        }
        var props = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"] as JsonObject;
        foreach (var (key, value) in obj)
        {
            if (path.Length == 0 && key is "apiVersion" or "kind" or "metadata")
            {
                continue;
            }
            if (props?[key] is JsonObject child)
            {
                Validate(value, child, Join(path, key), errors);
            }
            else if (additional is not null)
            {
                Validate(value, additional, Join(path, key), errors);
            }
        }
        if (schema["maxProperties"] is { } maxP && obj.Count > maxP.AsInt64())
        {
            errors.Add(new FieldError(FieldErrorType.TooLong, path, null, $"must have at most {maxP.AsInt64()} properties", HasValue: false));
        }
    }

    private static void ValidateArray(JsonArray arr, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["minItems"] is { } min && arr.Count < min.AsInt64())
        {
            errors.Add(FieldError.Invalid(path, JsonValue.Create(arr.Count), $"{path} in body should have at least {min.AsInt64()} items"));
        }
        if (schema["maxItems"] is { } max && arr.Count > max.AsInt64())
        {
            errors.Add(new FieldError(FieldErrorType.TooLong, path, null, $"must have at most {max.AsInt64()} items", HasValue: false) { });
        }
        if (schema["items"] is JsonObject items)
        {
            for (var i = 0; i < arr.Count; i++)
            {
                Validate(arr[i], items, $"{path}[{i}]", errors);
            }
        }
        if (schema["x-kubernetes-list-type"]?.GetValue<string>() is "set" or "map")
        {
            var keys = (schema["x-kubernetes-list-map-keys"] as JsonArray)?.Select(k => k!.GetValue<string>()).ToArray() ?? [];
            for (var i = 0; i < arr.Count; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    var same = keys.Length == 0
                        ? JsonNode.DeepEquals(arr[i], arr[j])
                        : keys.All(k => JsonNode.DeepEquals(arr[i]?[k], arr[j]?[k]));
                    if (same)
                    {
                        var dup = keys.Length == 0 ? arr[i]?.DeepClone() : new JsonObject(keys.Select(k => new KeyValuePair<string, JsonNode?>(k, arr[i]?[k]?.DeepClone())));
                        errors.Add(FieldError.Duplicate($"{path}[{i}]", dup));
                        break;
                    }
                }
            }
        }
    }

    private static void ValidateNumber(double value, JsonValue raw, JsonObject schema, string path, List<FieldError> errors)
    {
        var exclusiveMin = schema["exclusiveMinimum"]?.GetValue<bool>() == true;
        var exclusiveMax = schema["exclusiveMaximum"]?.GetValue<bool>() == true;
        if (schema["minimum"] is { } min)
        {
            var m = min.AsDouble();
            if (exclusiveMin ? value <= m : value < m)
            {
                errors.Add(FieldError.Invalid(path, raw.DeepClone(), $"{path} in body should be greater than {(exclusiveMin ? "" : "or equal to ")}{Format(m)}"));
            }
        }
        if (schema["maximum"] is { } max)
        {
            var m = max.AsDouble();
            if (exclusiveMax ? value >= m : value > m)
            {
                errors.Add(FieldError.Invalid(path, raw.DeepClone(), $"{path} in body should be less than {(exclusiveMax ? "" : "or equal to ")}{Format(m)}"));
            }
        }
    }

    private static void ValidateString(string value, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["minLength"] is { } min && value.Length < min.AsInt64())
        {
            errors.Add(FieldError.Invalid(path, value, $"{path} in body should be at least {min.AsInt64()} chars long"));
        }
        if (schema["maxLength"] is { } max && value.Length > max.AsInt64())
        {
            errors.Add(new FieldError(FieldErrorType.TooLong, path, null, $"may not be more than {max.AsInt64()} bytes", HasValue: false));
        }
        if (schema["pattern"]?.GetValue<string>() is { } pattern && !Regex.IsMatch(value, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            errors.Add(FieldError.Invalid(path, value, $"{path} in body should match '{pattern}'"));
        }
    }

    private static string Format(double d) => d.ToString(CultureInfo.InvariantCulture);

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    private static bool TypeMatches(string expected, string actual) =>
        expected == actual || (expected == "number" && actual == "integer");

    private static string TypeName(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => IsInteger(node.AsValue()) ? "integer" : "number",
        _ => "null",
    };

    private static bool IsInteger(JsonValue v)
    {
        var text = v.ToJsonString();
        return !text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.OrdinalIgnoreCase);
    }
}
