using System.Text.Json.Nodes;
using Kube.ApiServer.Discovery;

namespace Kube.ApiServer.Validation;

/// <summary>Validation of metadata common to every kind (ValidateObjectMeta). Stateless; thread-safe.</summary>
internal static class ObjectMetaValidator
{
    /// <summary>The name rule each kind uses, as in the kind's registry strategy.</summary>
    public static Func<string, List<string>> NameRuleFor(ResourceType type) => (type.Group, type.Plural) switch
    {
        ("", "namespaces") => NameRules.CheckDns1123Label,
        ("", "services") => NameRules.CheckDns1035Label,
        ("apps", "statefulsets") => NameRules.CheckDns1123Label, // pods are named <statefulset>-<ordinal>
        ("rbac.authorization.k8s.io", _) => NameRules.CheckPathSegment,
        _ => NameRules.CheckDns1123Subdomain,
    };

    public static void Validate(ResourceType type, JsonObject obj, List<FieldError> errors)
    {
        var meta = obj["metadata"] as JsonObject ?? new JsonObject();
        var name = meta["name"]?.GetValue<string>() ?? "";
        var generateName = meta["generateName"]?.GetValue<string>() ?? "";
        var rule = NameRuleFor(type);
        if (generateName.Length > 0)
        {
            // generateName is validated with its random suffix masked, as the apiserver does ("prefix" + "a").
            foreach (var m in rule(MaskTrailingDash(generateName)))
            {
                errors.Add(FieldError.Invalid("metadata.generateName", generateName, m));
            }
        }
        if (name.Length == 0)
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required"));
        }
        else
        {
            foreach (var m in rule(name))
            {
                errors.Add(FieldError.Invalid("metadata.name", name, m));
            }
        }
        if (type.Namespaced)
        {
            var ns = meta["namespace"]?.GetValue<string>() ?? "";
            if (ns.Length == 0)
            {
                errors.Add(FieldError.Required("metadata.namespace", ""));
            }
        }
        NameRules.ValidateLabels(meta["labels"] as JsonObject, "metadata.labels", errors);
        NameRules.ValidateAnnotations(meta["annotations"] as JsonObject, "metadata.annotations", errors);
        if (meta["finalizers"] is JsonArray finalizers)
        {
            for (var i = 0; i < finalizers.Count; i++)
            {
                var f = finalizers[i]?.GetValue<string>() ?? "";
                foreach (var m in NameRules.CheckQualifiedName(f))
                {
                    errors.Add(FieldError.Invalid($"metadata.finalizers[{i}]", f, m));
                }
            }
        }
        if (meta["ownerReferences"] is JsonArray owners)
        {
            for (var i = 0; i < owners.Count; i++)
            {
                var o = owners[i] as JsonObject;
                if (string.IsNullOrEmpty(o?["uid"]?.GetValue<string>()))
                {
                    errors.Add(FieldError.Invalid($"metadata.ownerReferences.uid", "", "uid must not be empty"));
                }
            }
        }
    }

    private static string MaskTrailingDash(string generateName) =>
        generateName.EndsWith('-') ? generateName + "a" : generateName;
}
