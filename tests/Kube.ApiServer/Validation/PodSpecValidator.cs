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
        ValidateContainers(spec["initContainers"] as JsonArray, path + ".initContainers", containerNames, required: false, errors);
        ValidateContainers(spec["containers"] as JsonArray, path + ".containers", containerNames, required: true, errors);
    }

    private static void ValidateContainers(JsonArray? containers, string path, HashSet<string> names, bool required, List<FieldError> errors)
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
}
