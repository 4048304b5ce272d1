using System.Text.Json.Nodes;

namespace Kube.ApiServer.Validation;

/// <summary>Pod spec validation: containers, ports, volumes (names and uniqueness). Stateless; thread-safe.</summary>
internal static class PodSpecValidator
{
    public static void ValidatePodSpec(JsonObject? spec, string path, List<FieldError> errors)
    {
        if (spec is null)
        {
            errors.Add(FieldError.Required(path + ".containers", ""));
            return;
        }
        var volumeNames = new HashSet<string>(StringComparer.Ordinal);
        if (spec["volumes"] is JsonArray volumes)
        {
            for (var i = 0; i < volumes.Count; i++)
            {
                var name = volumes[i]?["name"]?.GetValue<string>() ?? "";
                var vp = $"{path}.volumes[{i}].name";
                if (name.Length == 0)
                {
                    errors.Add(FieldError.Required(vp, ""));
                    continue;
                }
                foreach (var m in NameRules.CheckDns1123Label(name))
                {
                    errors.Add(FieldError.Invalid(vp, name, m));
                }
                if (!volumeNames.Add(name))
                {
                    errors.Add(FieldError.Duplicate(vp, JsonValue.Create(name)));
                }
            }
        }
        var containerNames = new HashSet<string>(StringComparer.Ordinal);
        ValidateContainers(spec["initContainers"] as JsonArray, path + ".initContainers", containerNames, volumeNames, required: false, errors);
        ValidateContainers(spec["containers"] as JsonArray, path + ".containers", containerNames, volumeNames, required: true, errors);
    }

    private static void ValidateContainers(JsonArray? containers, string path, HashSet<string> names, HashSet<string> volumeNames, bool required,
        List<FieldError> errors)
    {
        if (containers is null || containers.Count == 0)
        {
            if (required)
            {
                errors.Add(FieldError.Required(path, ""));
            }
            return;
        }
        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i] as JsonObject ?? new JsonObject();
            var cp = $"{path}[{i}]";
            var name = c["name"]?.GetValue<string>() ?? "";
            if (name.Length == 0)
            {
                errors.Add(FieldError.Required(cp + ".name", ""));
            }
            else
            {
                foreach (var m in NameRules.CheckDns1123Label(name))
                {
                    errors.Add(FieldError.Invalid(cp + ".name", name, m));
                }
                if (!names.Add(name))
                {
                    errors.Add(FieldError.Duplicate(cp + ".name", JsonValue.Create(name)));
                }
            }
            if (string.IsNullOrEmpty(c["image"]?.GetValue<string>()))
            {
                errors.Add(FieldError.Required(cp + ".image", ""));
            }
            ValidateContainerPorts(c["ports"] as JsonArray, cp + ".ports", errors);
            ValidateVolumeMounts(c["volumeMounts"] as JsonArray, cp + ".volumeMounts", volumeNames, errors);
            ValidateResources(c["resources"] as JsonObject, cp + ".resources", errors);
            foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
            {
                if (c[probe] is JsonObject p)
                {
                    ValidateProbeHandler(p, $"{cp}.{probe}", errors);
                }
            }
            if (c["env"] is JsonArray env)
            {
                for (var j = 0; j < env.Count; j++)
                {
                    if (string.IsNullOrEmpty(env[j]?["name"]?.GetValue<string>()))
                    {
                        errors.Add(FieldError.Required($"{cp}.env[{j}].name", ""));
                    }
                }
            }
        }
    }

    private static void ValidateContainerPorts(JsonArray? ports, string path, List<FieldError> errors)
    {
        if (ports is null)
        {
            return;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ports.Count; i++)
        {
            var p = ports[i] as JsonObject ?? new JsonObject();
            var pp = $"{path}[{i}]";
            var name = p["name"]?.GetValue<string>() ?? "";
            if (name.Length > 0)
            {
                foreach (var m in NameRules.CheckPortName(name))
                {
                    errors.Add(FieldError.Invalid(pp + ".name", name, m));
                }
                if (!names.Add(name))
                {
                    errors.Add(FieldError.Duplicate(pp + ".name", JsonValue.Create(name)));
                }
            }
            var port = p["containerPort"]?.AsInt64() ?? 0;
            if (port == 0)
            {
                errors.Add(FieldError.Required(pp + ".containerPort", ""));
            }
            else if (port is < 1 or > 65535)
            {
                errors.Add(FieldError.Invalid(pp + ".containerPort", JsonValue.Create(port), "must be between 1 and 65535, inclusive"));
            }
        }
    }

    /// <summary>Each mount names a volume of the pod and has a mountPath unique within the container.</summary>
    private static void ValidateVolumeMounts(JsonArray? mounts, string path, HashSet<string> volumeNames, List<FieldError> errors)
    {
        if (mounts is null)
        {
            return;
        }

        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < mounts.Count; i++)
        {
            var mount = mounts[i] as JsonObject ?? new JsonObject();
            var mp = $"{path}[{i}]";
            var name = mount["name"]?.GetValue<string>() ?? "";
            if (name.Length == 0)
            {
                errors.Add(FieldError.Required(mp + ".name", ""));
            }
            else if (!volumeNames.Contains(name))
            {
                errors.Add(FieldError.NotFound(mp + ".name", JsonValue.Create(name)));
            }

            var mountPath = mount["mountPath"]?.GetValue<string>() ?? "";
            if (mountPath.Length == 0)
            {
                errors.Add(FieldError.Required(mp + ".mountPath", ""));
            }
            else if (!paths.Add(mountPath))
            {
                errors.Add(FieldError.Invalid(mp + ".mountPath", mountPath, "must be unique"));
            }
        }
    }

    /// <summary>Quantities are compared as the apiserver does: a request may not exceed its limit.</summary>
    private static void ValidateResources(JsonObject? resources, string path, List<FieldError> errors)
    {
        if (resources?["requests"] is not JsonObject requests || resources["limits"] is not JsonObject limits)
        {
            return;
        }

        foreach (var (resource, requestNode) in requests)
        {
            if (limits[resource] is not { } limitNode || requestNode is null
                || !TryQuantity(requestNode, out var request, out var requestText) || !TryQuantity(limitNode, out var limit, out var limitText))
            {
                continue;
            }

            if (request > limit)
            {
                errors.Add(FieldError.Invalid(path + ".requests", requestText, $"must be less than or equal to {resource} limit of {limitText}"));
            }
        }
    }

    private static bool TryQuantity(JsonNode node, out decimal value, out string text)
    {
        text = node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
        try
        {
            value = new k8s.Models.ResourceQuantity(text).ToDecimal();
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            value = 0;
            return false;
        }
    }

    /// <summary>A probe has exactly one handler (exec, httpGet, tcpSocket, grpc, checked in that order) with a valid port.</summary>
    private static void ValidateProbeHandler(JsonObject probe, string path, List<FieldError> errors)
    {
        var found = 0;
        foreach (var handler in new[] { "exec", "httpGet", "tcpSocket", "grpc" })
        {
            if (probe[handler] is not JsonObject action)
            {
                continue;
            }

            if (found++ > 0)
            {
                errors.Add(FieldError.Forbidden($"{path}.{handler}", "may not specify more than 1 handler type"));
                continue;
            }

            if (handler is "httpGet" or "tcpSocket")
            {
                ValidateProbePort(action["port"], $"{path}.{handler}.port", errors);
            }
        }

        if (found == 0)
        {
            errors.Add(FieldError.Required(path, "must specify a handler type"));
        }
    }

    private static void ValidateProbePort(JsonNode? port, string path, List<FieldError> errors)
    {
        if (port is null)
        {
            errors.Add(FieldError.Required(path, ""));
            return;
        }

        if (port.GetValueKind() == System.Text.Json.JsonValueKind.Number)
        {
            var number = port.AsInt64();
            if (number is < 1 or > 65535)
            {
                errors.Add(FieldError.Invalid(path, JsonValue.Create(number), "must be between 1 and 65535, inclusive"));
            }

            return;
        }

        var name = port.GetValue<string>();
        foreach (var m in NameRules.CheckPortName(name))
        {
            errors.Add(FieldError.Invalid(path, name, m));
        }
    }
}
