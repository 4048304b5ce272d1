using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Http;

namespace Kube.ApiServer.Validation;

/// <summary>The <c>fieldValidation</c> query parameter of POST, PUT and PATCH.</summary>
internal enum FieldValidationDirective
{
    /// <summary>Unknown fields are dropped silently (also what the fixture's own controllers use).</summary>
    Ignore,

    /// <summary>Unknown fields are dropped and reported as <c>Warning: 299</c> headers: the apiserver's default.</summary>
    Warn,

    /// <summary>Unknown fields fail the request with 400 BadRequest (what kubectl sends by default).</summary>
    Strict,
}

/// <summary>
/// One write's field validation: the directive and the warnings it produced for the response. Owned by one request;
/// not thread-safe.
/// </summary>
internal sealed class FieldCheck
{
    public FieldCheck(FieldValidationDirective directive) => Directive = directive;

    public FieldValidationDirective Directive { get; }

    public List<string> Warnings { get; } = [];

    /// <summary>Parses the query value; absent means Warn, as on a real apiserver.</summary>
    public static FieldCheck FromQuery(string? value) => value switch
    {
        null or "" or "Warn" => new FieldCheck(FieldValidationDirective.Warn),
        "Strict" => new FieldCheck(FieldValidationDirective.Strict),
        "Ignore" => new FieldCheck(FieldValidationDirective.Ignore),
        _ => throw ApiError.BadRequest($"fieldValidation parameter unsupported: {value}"),
    };

    /// <summary>
    /// Applies the directive to the unknown fields of one object: Strict fails the way the apiserver's strict decoder
    /// does, Warn records one warning per field.
    /// </summary>
    public void Report(ResourceType type, IReadOnlyList<string> unknown)
    {
        if (unknown.Count == 0 || Directive == FieldValidationDirective.Ignore)
        {
            return;
        }

        if (Directive == FieldValidationDirective.Strict)
        {
            var fields = string.Join(", ", unknown.Select(p => $"unknown field \"{p}\""));
            throw ApiError.BadRequest($"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: strict decoding error: {fields}");
        }

        foreach (var path in unknown)
        {
            Warnings.Add($"unknown field \"{path}\"");
        }
    }
}

/// <summary>
/// Finds and drops the fields a built-in kind does not declare, as decoding into the apiserver's Go types does, by
/// walking the JSON against KubernetesClient's generated models (their JSON property names are the API's). Paths
/// are written like the strict decoder's: <c>spec.template.spec.containers[0].imagee</c>. Reflection results are
/// cached per type; thread-safe.
/// </summary>
internal sealed class UnknownFieldDetector
{
    private static readonly Assembly Models = typeof(V1ObjectMeta).Assembly;
    private readonly ConcurrentDictionary<Type, Dictionary<string, Type>?> _properties = new();

    /// <summary>The model of a built-in kind (V1StatefulSet, Corev1Event ...), or null when the fixture knows none.</summary>
    public static Type? ModelFor(ResourceType type)
    {
        var version = char.ToUpperInvariant(type.Version[0]) + type.Version[1..];
        return Models.GetType($"k8s.Models.{version}{type.Kind}")
            ?? Models.GetType($"k8s.Models.Core{type.Version}{type.Kind}");
    }

    /// <summary>
    /// Removes from <paramref name="node"/> what <paramref name="model"/> does not declare; returns the removed paths.
    /// Also reports the first scalar of the wrong JSON type, worded as Go's decoder does (<paramref name="typeError"/>),
    /// which a real apiserver always rejects whatever the fieldValidation directive.
    /// </summary>
    public void Prune(JsonNode? node, Type model, string path, List<string> unknown, ref string? typeError) =>
        Walk(node, model, path, path, unknown, ref typeError);

    private void Walk(JsonNode? node, Type model, string path, string goPath, List<string> unknown, ref string? typeError)
    {
        switch (node)
        {
            case JsonObject obj when DictionaryValueType(model) is { } valueType:
                foreach (var (key, value) in obj.ToList())
                {
                    Walk(value, valueType, Join(path, key), Join(goPath, key), unknown, ref typeError);
                }

                break;
            case JsonObject obj when PropertiesOf(model) is { } properties:
                foreach (var key in obj.Select(kv => kv.Key).ToList())
                {
                    if (properties.TryGetValue(key, out var propertyType))
                    {
                        typeError ??= ScalarMismatch(obj[key], propertyType, model, Join(goPath, key));
                        Walk(obj[key], propertyType, Join(path, key), Join(goPath, key), unknown, ref typeError);
                    }
                    else
                    {
                        unknown.Add(Join(path, key));
                        obj.Remove(key);
                    }
                }

                break;
            case JsonArray array when ElementType(model) is { } elementType:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], elementType, $"{path}[{i}]", goPath, unknown, ref typeError);
                }

                break;
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    /// <summary>
    /// Go's "json: cannot unmarshal number into Go struct field StatefulSetSpec.spec.serviceName of type string" for a
    /// JSON scalar, object or array where the model has a string, integer or boolean. Null decodes to the zero value.
    /// </summary>
    private static string? ScalarMismatch(JsonNode? value, Type propertyType, Type owner, string goPath)
    {
        if (value is null)
        {
            return null;
        }

        var type = Nullable.GetUnderlyingType(propertyType) ?? propertyType;
        var (goType, accepts) = type == typeof(string) ? ("string", JsonValueKind.String)
            : type == typeof(int) ? ("int32", JsonValueKind.Number)
            : type == typeof(long) ? ("int64", JsonValueKind.Number)
            : type == typeof(double) ? ("float64", JsonValueKind.Number)
            : type == typeof(bool) ? ("bool", JsonValueKind.True)
            : (null, JsonValueKind.Undefined);
        if (goType is null)
        {
            return null;
        }

        var kind = value.GetValueKind();
        var matches = kind == accepts || (accepts == JsonValueKind.True && kind == JsonValueKind.False);
        if (matches)
        {
            return null;
        }

        var jsonKind = kind switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "bool",
            JsonValueKind.Array => "array",
            _ => "object",
        };
        return $"json: cannot unmarshal {jsonKind} into Go struct field {GoName(owner)}.{goPath} of type {goType}";
    }

    /// <summary>The Go type name behind a KubernetesClient model: V1StatefulSetSpec is StatefulSetSpec.</summary>
    private static string GoName(Type model)
    {
        var name = model.Name;
        var match = System.Text.RegularExpressions.Regex.Match(name, "^(Core)?[Vv]?[0-9]+((alpha|beta)[0-9]+)?(?=[A-Z])");
        return match.Success ? name[match.Length..] : name;
    }

    private static Type? DictionaryValueType(Type type)
    {
        foreach (var candidate in type.IsInterface ? type.GetInterfaces().Append(type) : type.GetInterfaces())
        {
            if (candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IDictionary<,>) && candidate.GetGenericArguments()[0] == typeof(string))
            {
                return candidate.GetGenericArguments()[1];
            }
        }

        return null;
    }

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || type == typeof(byte[]))
        {
            return null;
        }

        foreach (var candidate in type.IsInterface ? type.GetInterfaces().Append(type) : type.GetInterfaces())
        {
            if (candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            {
                return candidate.GetGenericArguments()[0];
            }
        }

        return null;
    }

    /// <summary>JSON name to property type for a model class; null for leaves (scalars, quantities, int-or-string, raw).</summary>
    private Dictionary<string, Type>? PropertiesOf(Type type) => _properties.GetOrAdd(type, static t =>
    {
        var underlying = Nullable.GetUnderlyingType(t) ?? t;
        if (underlying.IsPrimitive || underlying.IsEnum || underlying == typeof(string) || underlying == typeof(object)
            || underlying == typeof(DateTime) || underlying == typeof(DateTimeOffset) || underlying == typeof(JsonElement)
            || typeof(JsonNode).IsAssignableFrom(underlying) || typeof(IEnumerable).IsAssignableFrom(underlying)
            || underlying.GetCustomAttribute<JsonConverterAttribute>() is not null || underlying.Assembly != Models)
        {
            return null;
        }

        var result = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach (var property in underlying.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonPropertyNameAttribute>() is { } name)
            {
                result[name.Name] = property.PropertyType;
            }
        }

        return result.Count == 0 ? null : result;
    });
}
