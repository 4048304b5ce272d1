using System.Globalization;
using System.Text;
using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// A container's environment as the kubelet computes it: envFrom first, then env in order, each value with
/// <c>$(VAR)</c> references to earlier variables expanded, valueFrom read from ConfigMaps, Secrets and the pod's own
/// fields. Pure. Thread-safe.
/// </summary>
public static class EnvResolver
{
    /// <summary>What fieldRefs and downward values read that the API object does not hold yet.</summary>
    public sealed record PodRuntime(string PodIp, string HostIp, string NodeName);

    public static IReadOnlyList<KeyValuePair<string, string>> Resolve(V1Pod pod, V1Container container, ClusterState state, PodRuntime runtime)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();

        void Set(string name, string value)
        {
            if (values.TryAdd(name, value))
            {
                order.Add(name);
            }
            else
            {
                values[name] = value;
            }
        }

        foreach (var source in container.EnvFrom ?? [])
        {
            var prefix = source.Prefix ?? "";
            if (source.ConfigMapRef is { } cmRef)
            {
                var cm = state.ConfigMap(ns, cmRef.Name);
                if (cm is null)
                {
                    if (cmRef.Optional == true)
                    {
                        continue;
                    }
                    throw new PodConfigException("CreateContainerConfigError", $"configmap \"{cmRef.Name}\" not found");
                }
                foreach (var (k, v) in cm.Data ?? new Dictionary<string, string>())
                {
                    Set(prefix + k, v);
                }
            }
            if (source.SecretRef is { } sRef)
            {
                var secret = state.Secret(ns, sRef.Name);
                if (secret is null)
                {
                    if (sRef.Optional == true)
                    {
                        continue;
                    }
                    throw new PodConfigException("CreateContainerConfigError", $"secret \"{sRef.Name}\" not found");
                }
                foreach (var (k, v) in secret.Data ?? new Dictionary<string, byte[]>())
                {
                    Set(prefix + k, Encoding.UTF8.GetString(v));
                }
            }
        }

        foreach (var env in container.Env ?? [])
        {
            if (env.ValueFrom is null)
            {
                Set(env.Name, Expand(env.Value ?? "", values));
                continue;
            }
            var value = ValueFrom(pod, container, env, state, runtime);
            if (value is not null)
            {
                Set(env.Name, value);
            }
        }

        return [.. order.Select(n => new KeyValuePair<string, string>(n, values[n]))];
    }

    /// <summary>Kubernetes' <c>$(VAR)</c> expansion: known names are replaced, unknown ones kept, <c>$$</c> escapes.</summary>
    public static string Expand(string input, IReadOnlyDictionary<string, string> values)
    {
        if (!input.Contains('$', StringComparison.Ordinal))
        {
            return input;
        }
        var sb = new StringBuilder(input.Length);
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] == '$' && i + 1 < input.Length)
            {
                if (input[i + 1] == '$')
                {
                    sb.Append('$');
                    i++;
                    continue;
                }
                if (input[i + 1] == '(')
                {
                    var close = input.IndexOf(')', i + 2);
                    if (close > 0)
                    {
                        var name = input[(i + 2)..close];
                        if (values.TryGetValue(name, out var v))
                        {
                            sb.Append(v);
                            i = close;
                            continue;
                        }
                    }
                }
            }
            sb.Append(input[i]);
        }
        return sb.ToString();
    }

    private static string? ValueFrom(V1Pod pod, V1Container container, V1EnvVar env, ClusterState state, PodRuntime runtime)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var from = env.ValueFrom;
        if (from.ConfigMapKeyRef is { } cmRef)
        {
            var cm = state.ConfigMap(ns, cmRef.Name);
            if (cm?.Data?.TryGetValue(cmRef.Key, out var v) == true)
            {
                return v;
            }
            if (cmRef.Optional == true)
            {
                return null;
            }
            throw new PodConfigException("CreateContainerConfigError",
                cm is null ? $"configmap \"{cmRef.Name}\" not found" : $"couldn't find key {cmRef.Key} in ConfigMap {ns}/{cmRef.Name}");
        }
        if (from.SecretKeyRef is { } sRef)
        {
            var secret = state.Secret(ns, sRef.Name);
            if (secret?.Data?.TryGetValue(sRef.Key, out var v) == true)
            {
                return Encoding.UTF8.GetString(v);
            }
            if (sRef.Optional == true)
            {
                return null;
            }
            throw new PodConfigException("CreateContainerConfigError",
                secret is null ? $"secret \"{sRef.Name}\" not found" : $"couldn't find key {sRef.Key} in Secret {ns}/{sRef.Name}");
        }
        if (from.FieldRef is { } fieldRef)
        {
            return FieldPath(pod, fieldRef.FieldPath, runtime);
        }
        if (from.ResourceFieldRef is { } resRef)
        {
            return ResourceField(container, resRef);
        }
        return null;
    }

    private static string FieldPath(V1Pod pod, string path, PodRuntime runtime)
    {
        switch (path)
        {
            case "metadata.name": return pod.Metadata.Name;
            case "metadata.namespace": return pod.Metadata.NamespaceProperty;
            case "metadata.uid": return pod.Metadata.Uid ?? "";
            case "spec.nodeName": return runtime.NodeName;
            case "spec.serviceAccountName": return pod.Spec.ServiceAccountName ?? "default";
            case "status.podIP": return runtime.PodIp;
            case "status.podIPs": return runtime.PodIp;
            case "status.hostIP": return runtime.HostIp;
            case "status.hostIPs": return runtime.HostIp;
        }
        foreach (var (prefix, map) in new[] { ("metadata.labels", pod.Metadata.Labels), ("metadata.annotations", pod.Metadata.Annotations) })
        {
            if (path == prefix)
            {
                return string.Join('\n', (map ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}=\"{kv.Value}\""));
            }
            if (path.StartsWith(prefix + "['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal))
            {
                var key = path[(prefix.Length + 2)..^2];
                return map is not null && map.TryGetValue(key, out var found) ? found : "";
            }
        }
        throw new PodConfigException("CreateContainerConfigError", $"unsupported fieldPath: {path}");
    }

    private static string ResourceField(V1Container container, V1ResourceFieldSelector selector)
    {
        var parts = selector.Resource.Split('.', 2);
        var map = parts[0] == "limits" ? container.Resources?.Limits : container.Resources?.Requests;
        if (parts.Length < 2 || map?.TryGetValue(parts[1], out var q) != true)
        {
            return "0";
        }
        var divisor = selector.Divisor?.ToDecimal() ?? 1m;
        var value = Math.Ceiling(q!.ToDecimal() / (divisor == 0 ? 1 : divisor));
        return value.ToString(CultureInfo.InvariantCulture);
    }
}
