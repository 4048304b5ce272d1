using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kube.ApiServer.Discovery;

namespace Kube.ApiServer.Validation;

/// <summary>
/// The subset of the built-in kinds' validation (pkg/apis/*/validation) that operators trip over:
/// services, pod templates, statefulsets, deployments, config keys. Messages match the apiserver's.
/// Stateless; thread-safe.
/// </summary>
internal static partial class BuiltInValidator
{
    private const string ConfigKeyMessage =
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

    [GeneratedRegex("^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigKey();

    public static void ValidateCreate(ResourceType type, JsonObject obj, List<FieldError> errors)
    {
        switch (type.Group, type.Plural)
        {
            case ("", "services"):
                ValidateService(obj, errors);
                break;
            case ("", "pods"):
                PodSpecValidator.ValidatePodSpec(obj["spec"] as JsonObject, "spec", errors);
                break;
            case ("", "configmaps"):
                ValidateConfigKeys(obj, "data", errors);
                ValidateConfigKeys(obj, "binaryData", errors);
                break;
            case ("", "secrets"):
                ValidateConfigKeys(obj, "data", errors);
                ValidateConfigKeys(obj, "stringData", errors);
                break;
            case ("apps", "statefulsets"):
                ValidateWorkload(obj, errors, statefulSet: true);
                break;
            case ("apps", "deployments"):
                ValidateWorkload(obj, errors, statefulSet: false);
                break;
            case ("coordination.k8s.io", "leases"):
                ValidateLease(obj, errors);
                break;
        }
    }

    public static void ValidateUpdate(ResourceType type, JsonObject obj, JsonObject old, List<FieldError> errors)
    {
        ValidateCreate(type, obj, errors);
        switch (type.Group, type.Plural)
        {
            case ("", "services"):
                ValidateServiceUpdate(obj, old, errors);
                break;
            case ("apps", "statefulsets"):
                ValidateStatefulSetUpdate(obj, old, errors);
                break;
            case ("apps", "deployments"):
                if (!JsonNode.DeepEquals(obj["spec"]?["selector"], old["spec"]?["selector"]))
                {
                    errors.Add(FieldError.Invalid("spec.selector", obj["spec"]?["selector"]?.DeepClone(), "field is immutable"));
                }
                break;
        }
    }

    private static void ValidateConfigKeys(JsonObject obj, string field, List<FieldError> errors)
    {
        if (obj[field] is not JsonObject data)
        {
            return;
        }
        foreach (var (key, _) in data)
        {
            if (key.Length > 253)
            {
                errors.Add(FieldError.Invalid($"{field}[{key}]", key, "must be no more than 253 characters"));
            }
            if (!ConfigKey().IsMatch(key))
            {
                errors.Add(FieldError.Invalid($"{field}[{key}]", key, ConfigKeyMessage));
            }
        }
    }

    private static void ValidateService(JsonObject obj, List<FieldError> errors)
    {
        var spec = obj["spec"] as JsonObject ?? new JsonObject();
        var type = spec["type"]?.GetValue<string>() ?? "ClusterIP";
        var ports = spec["ports"] as JsonArray;
        var headless = spec["clusterIP"]?.GetValue<string>() == "None";
        if (type != "ExternalName" && !headless && (ports is null || ports.Count == 0))
        {
            errors.Add(FieldError.Required("spec.ports", ""));
        }
        if (ports is null)
        {
            return;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ports.Count; i++)
        {
            var p = ports[i] as JsonObject ?? new JsonObject();
            var path = $"spec.ports[{i}]";
            var name = p["name"]?.GetValue<string>() ?? "";
            if (ports.Count > 1 && name.Length == 0)
            {
                errors.Add(FieldError.Required(path + ".name", ""));
            }
            else if (name.Length > 0)
            {
                foreach (var m in NameRules.CheckDns1123Label(name))
                {
                    errors.Add(FieldError.Invalid(path + ".name", name, m));
                }
                if (!names.Add(name))
                {
                    errors.Add(FieldError.Duplicate(path + ".name", JsonValue.Create(name)));
                }
            }
            var port = p["port"]?.AsInt64() ?? 0;
            if (port is < 1 or > 65535)
            {
                errors.Add(FieldError.Invalid(path + ".port", JsonValue.Create(port), "must be between 1 and 65535, inclusive"));
            }
            var protocol = p["protocol"]?.GetValue<string>() ?? "TCP";
            if (protocol is not ("TCP" or "UDP" or "SCTP"))
            {
                errors.Add(FieldError.NotSupported(path + ".protocol", JsonValue.Create(protocol), ["SCTP", "TCP", "UDP"]));
            }
            if (!keys.Add(port + "/" + protocol))
            {
                errors.Add(FieldError.Duplicate(path, new JsonObject { ["port"] = port, ["protocol"] = protocol }));
            }
            if (p["targetPort"] is JsonValue tp && tp.TryGetValue<string>(out var named))
            {
                foreach (var m in NameRules.CheckPortName(named))
                {
                    errors.Add(FieldError.Invalid(path + ".targetPort", named, m));
                }
            }
        }
    }

    /// <summary>
    /// The primary cluster IP may not change once set. As in the apiserver, a change of clusterIP alone is first
    /// carried into clusterIPs[0], and the error names clusterIPs[0] with the new list.
    /// </summary>
    private static void ValidateServiceUpdate(JsonObject obj, JsonObject old, List<FieldError> errors)
    {
        var oldIp = old["spec"]?["clusterIP"]?.GetValue<string>() ?? "";
        var newIp = obj["spec"]?["clusterIP"]?.GetValue<string>() ?? "";
        if (oldIp.Length == 0 || old["spec"]?["type"]?.GetValue<string>() == "ExternalName" || newIp == oldIp)
        {
            return;
        }

        var newIps = obj["spec"]?["clusterIPs"] as JsonArray;
        var oldIps = old["spec"]?["clusterIPs"] as JsonArray;
        var ips = newIps is not null && !JsonNode.DeepEquals(newIps, oldIps) ? (JsonArray)newIps.DeepClone() : new JsonArray(newIp);
        errors.Add(FieldError.Invalid("spec.clusterIPs[0]", ips, "may not change once set"));
    }

    private static void ValidateWorkload(JsonObject obj, List<FieldError> errors, bool statefulSet)
    {
        var spec = obj["spec"] as JsonObject ?? new JsonObject();
        var replicas = spec["replicas"]?.AsInt64() ?? 1;
        if (replicas < 0)
        {
            errors.Add(FieldError.Invalid("spec.replicas", JsonValue.Create(replicas), "must be greater than or equal to 0"));
        }
        var selector = spec["selector"] as JsonObject;
        var template = spec["template"] as JsonObject;
        if (selector is null)
        {
            errors.Add(FieldError.Required("spec.selector", ""));
        }
        else
        {
            var hasTerms = (selector["matchLabels"] as JsonObject)?.Count > 0 || (selector["matchExpressions"] as JsonArray)?.Count > 0;
            if (!hasTerms)
            {
                errors.Add(FieldError.Invalid("spec.selector", selector.DeepClone(), "empty selector is invalid for " + (statefulSet ? "statefulset" : "deployment")));
            }
            NameRules.ValidateLabels(selector["matchLabels"] as JsonObject, "spec.selector.matchLabels", errors);
            var labels = template?["metadata"]?["labels"] as JsonObject;
            if (hasTerms && !Selectors.LabelSelector.FromJson(selector).Matches(labels))
            {
                errors.Add(FieldError.Invalid("spec.template.metadata.labels", labels?.DeepClone() ?? new JsonObject(), "`selector` does not match template `labels`"));
            }
        }
        if (template is null)
        {
            errors.Add(FieldError.Required("spec.template", ""));
            return;
        }
        NameRules.ValidateLabels(template["metadata"]?["labels"] as JsonObject, "spec.template.metadata.labels", errors);
        var podSpec = template["spec"] as JsonObject;

        // The apiserver does not validate a StatefulSet's pod spec (its volumeMounts may name volumeClaimTemplates):
        // a bad template surfaces when the controller creates the pods (a FailedCreate event). Deployments validate it.
        if (!statefulSet)
        {
            PodSpecValidator.ValidatePodSpec(podSpec, "spec.template.spec", errors);
        }

        var restart = podSpec?["restartPolicy"]?.GetValue<string>() ?? "Always";
        if (restart != "Always")
        {
            errors.Add(FieldError.NotSupported("spec.template.spec.restartPolicy", JsonValue.Create(restart), ["Always"]));
        }
        if (statefulSet)
        {
            ValidateStatefulSetSpec(spec, podSpec, errors);
        }
    }

    private static void ValidateStatefulSetSpec(JsonObject spec, JsonObject? podSpec, List<FieldError> errors)
    {
        var policy = spec["podManagementPolicy"]?.GetValue<string>() ?? "OrderedReady";
        if (policy is not ("OrderedReady" or "Parallel"))
        {
            errors.Add(FieldError.Invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"));
        }

        if (spec["updateStrategy"] is JsonObject strategy)
        {
            var type = strategy["type"]?.GetValue<string>() ?? "RollingUpdate";
            if (type == "OnDelete" && strategy["rollingUpdate"] is JsonObject rolling)
            {
                errors.Add(FieldError.Invalid("spec.updateStrategy.rollingUpdate", rolling.DeepClone(), "only allowed for updateStrategy 'RollingUpdate'"));
            }
            else if (type is not ("OnDelete" or "RollingUpdate"))
            {
                errors.Add(FieldError.Invalid("spec.updateStrategy", strategy.DeepClone(), "must be 'RollingUpdate' or 'OnDelete'"));
            }
        }

        if (spec["minReadySeconds"]?.AsInt64() is < 0 and var minReady)
        {
            errors.Add(FieldError.Invalid("spec.minReadySeconds", JsonValue.Create(minReady), "must be greater than or equal to 0"));
        }

        if (podSpec?["activeDeadlineSeconds"] is not null)
        {
            errors.Add(FieldError.Forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported"));
        }
    }

    private static void ValidateStatefulSetUpdate(JsonObject obj, JsonObject old, List<FieldError> errors)
    {
        // Everything but these fields is immutable; compare the rest of spec as a whole, as the apiserver does.
        static JsonObject Frozen(JsonObject o)
        {
            var spec = (JsonObject)(o["spec"]?.DeepClone() ?? new JsonObject());
            foreach (var mutable in new[] { "replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds" })
            {
                spec.Remove(mutable);
            }
            return spec;
        }
        if (!JsonNode.DeepEquals(Frozen(obj), Frozen(old)))
        {
            errors.Add(FieldError.Forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
        }
    }

    private static void ValidateLease(JsonObject obj, List<FieldError> errors)
    {
        var duration = obj["spec"]?["leaseDurationSeconds"];
        if (duration is not null && duration.AsInt64() <= 0)
        {
            errors.Add(FieldError.Invalid("spec.leaseDurationSeconds", duration.DeepClone(), "must be greater than 0"));
        }
    }
}
