using System.Text.Json.Nodes;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Validation;

namespace Kube.ApiServer.Schema;

/// <summary>
/// CustomResourceDefinition handling: structural-schema and naming checks on write, the served
/// resource types a CRD contributes, and the status the apiserver's controllers would set. Stateless; thread-safe.
/// </summary>
internal static class CrdSupport
{
    public static void Validate(JsonObject crd, List<FieldError> errors)
    {
        var name = crd["metadata"]?["name"]?.GetValue<string>() ?? "";
        var spec = crd["spec"] as JsonObject ?? new JsonObject();
        var group = spec["group"]?.GetValue<string>() ?? "";
        var names = spec["names"] as JsonObject ?? new JsonObject();
        var plural = names["plural"]?.GetValue<string>() ?? "";
        if (name != plural + "." + group)
        {
            errors.Add(FieldError.Invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"));
        }
        if (group.Length == 0)
        {
            errors.Add(FieldError.Required("spec.group", ""));
        }
        else if (!group.Contains('.', StringComparison.Ordinal))
        {
            errors.Add(FieldError.Invalid("spec.group", group, "should be a domain with at least one dot"));
        }
        var scope = spec["scope"]?.GetValue<string>() ?? "";
        if (scope is not ("Namespaced" or "Cluster"))
        {
            errors.Add(FieldError.NotSupported("spec.scope", JsonValue.Create(scope), ["Cluster", "Namespaced"]));
        }
        if (plural.Length == 0)
        {
            errors.Add(FieldError.Required("spec.names.plural", ""));
        }
        if (string.IsNullOrEmpty(names["kind"]?.GetValue<string>()))
        {
            errors.Add(FieldError.Required("spec.names.kind", ""));
        }
        if (string.IsNullOrEmpty(names["listKind"]?.GetValue<string>()))
        {
            // Defaulted to kind + "List" before validation.
            names["listKind"] = (names["kind"]?.GetValue<string>() ?? "") + "List";
        }
        if (string.IsNullOrEmpty(names["singular"]?.GetValue<string>()))
        {
            names["singular"] = (names["kind"]?.GetValue<string>() ?? "").ToLowerInvariant();
        }
        var versions = spec["versions"] as JsonArray ?? [];
        if (versions.Count == 0)
        {
            errors.Add(FieldError.Invalid("spec.versions", new JsonArray(), "must have exactly one version marked as storage version"));
        }
        var storage = versions.Count(v => v?["storage"]?.GetValue<bool>() == true);
        if (versions.Count > 0 && storage != 1)
        {
            errors.Add(FieldError.Invalid("spec.versions", versions.DeepClone(), "must have exactly one version marked as storage version"));
        }
        for (var i = 0; i < versions.Count; i++)
        {
            var schema = versions[i]?["schema"]?["openAPIV3Schema"] as JsonObject;
            var path = $"spec.versions[{i}].schema.openAPIV3Schema";
            if (schema is null)
            {
                errors.Add(FieldError.Required(path, "schemas are required"));
                continue;
            }
            if (schema["type"]?.GetValue<string>() != "object")
            {
                errors.Add(FieldError.Invalid(path + ".type", schema["type"]?.GetValue<string>() ?? "", "must be object at the root"));
            }
            CheckStructural(schema, path, errors);
        }
    }

    /// <summary>Every node declares a type unless it is int-or-string or preserves unknown fields.</summary>
    private static void CheckStructural(JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["properties"] is JsonObject props)
        {
            foreach (var (key, child) in props)
            {
                if (child is not JsonObject c)
                {
                    continue;
                }
                var childPath = $"{path}.properties[{key}]";
                var exempt = c["x-kubernetes-int-or-string"]?.GetValue<bool>() == true
                    || c["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
                if (c["type"] is null && !exempt)
                {
                    errors.Add(FieldError.Required(childPath + ".type", "must not be empty for specified object fields"));
                }
                CheckStructural(c, childPath, errors);
            }
        }
        if (schema["items"] is JsonObject items)
        {
            if (items["type"] is null && items["x-kubernetes-int-or-string"] is null && items["x-kubernetes-preserve-unknown-fields"] is null)
            {
                errors.Add(FieldError.Required(path + ".items.type", "must not be empty for specified array items"));
            }
            CheckStructural(items, path + ".items", errors);
        }
        if (schema["additionalProperties"] is JsonObject additional)
        {
            if (schema["properties"] is JsonObject)
            {
                errors.Add(FieldError.Forbidden(path + ".additionalProperties", "additionalProperties and properties are mutual exclusive"));
            }
            CheckStructural(additional, path + ".additionalProperties", errors);
        }
    }

    /// <summary>The served versions of an established CRD as resource types.</summary>
    public static List<ResourceType> TypesOf(JsonObject crd)
    {
        var spec = crd["spec"]!.AsObject();
        var names = spec["names"]!.AsObject();
        var result = new List<ResourceType>();
        foreach (var v in spec["versions"]!.AsArray())
        {
            if (v?["served"]?.GetValue<bool>() != true)
            {
                continue;
            }
            var schema = v["schema"]?["openAPIV3Schema"] as JsonObject;
            var sub = v["subresources"] as JsonObject;
            ScalePaths? scale = null;
            if (sub?["scale"] is JsonObject s)
            {
                scale = new ScalePaths(
                    s["specReplicasPath"]?.GetValue<string>() ?? ".spec.replicas",
                    s["statusReplicasPath"]?.GetValue<string>() ?? ".status.replicas",
                    s["labelSelectorPath"]?.GetValue<string>());
            }
            var columns = new List<PrinterColumn>();
            foreach (var c in v["additionalPrinterColumns"] as JsonArray ?? [])
            {
                columns.Add(new PrinterColumn(
                    c!["name"]!.GetValue<string>(), c["type"]?.GetValue<string>() ?? "string", c["format"]?.GetValue<string>(),
                    c["description"]?.GetValue<string>() ?? "", (int)(c["priority"]?.AsInt64() ?? 0), c["jsonPath"]!.GetValue<string>()));
            }
            result.Add(new ResourceType
            {
                Group = spec["group"]!.GetValue<string>(),
                Version = v["name"]!.GetValue<string>(),
                Plural = names["plural"]!.GetValue<string>(),
                Singular = names["singular"]?.GetValue<string>() ?? names["kind"]!.GetValue<string>().ToLowerInvariant(),
                Kind = names["kind"]!.GetValue<string>(),
                Namespaced = spec["scope"]?.GetValue<string>() == "Namespaced",
                ShortNames = (names["shortNames"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToArray() ?? [],
                Categories = (names["categories"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToArray() ?? [],
                HasStatus = sub?["status"] is not null,
                Scale = scale,
                TracksGeneration = true,
                Custom = new CustomResourceInfo(schema, columns, schema?["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true),
            });
        }
        return result;
    }

    /// <summary>The status the CRD controllers set once names are accepted: NamesAccepted and Established.</summary>
    public static JsonObject EstablishedStatus(JsonObject crd, string now)
    {
        var spec = crd["spec"]!.AsObject();
        var storedVersions = new JsonArray();
        foreach (var v in spec["versions"]!.AsArray())
        {
            if (v?["storage"]?.GetValue<bool>() == true)
            {
                storedVersions.Add(v["name"]!.GetValue<string>());
            }
        }
        return new JsonObject
        {
            ["acceptedNames"] = spec["names"]!.DeepClone(),
            ["conditions"] = new JsonArray(
                Condition("NamesAccepted", "NoConflicts", "no conflicts found", now),
                Condition("Established", "InitialNamesAccepted", "the initial names have been accepted", now)),
            ["storedVersions"] = storedVersions,
        };
    }

    private static JsonObject Condition(string type, string reason, string message, string now) => new()
    {
        ["type"] = type,
        ["status"] = "True",
        ["lastTransitionTime"] = now,
        ["reason"] = reason,
        ["message"] = message,
    };
}
