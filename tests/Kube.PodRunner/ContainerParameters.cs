using System.Globalization;
using Docker.DotNet.Models;
using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// A pod container as Docker create parameters: command → entrypoint and args → cmd with <c>$(VAR)</c> expansion,
/// env, workingDir, runAsUser/runAsGroup, fsGroup as a supplementary group, cpu and memory limits, volume mounts as
/// binds. Pure apart from creating a missing subPath directory. Thread-safe.
/// </summary>
internal static class ContainerParameters
{
    /// <summary>An app or init container joined to the pod's sandbox (network and IPC namespaces).</summary>
    public static CreateContainerParameters For(V1Pod pod, V1Container spec, IReadOnlyList<KeyValuePair<string, string>> env, string name, string sandboxId,
        IReadOnlyDictionary<string, string> volumeSources, IDictionary<string, string> labels)
    {
        var values = env.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var parameters = new CreateContainerParameters
        {
            Name = name,
            Image = spec.Image,
            Entrypoint = spec.Command is { Count: > 0 } command ? [.. command.Select(c => EnvResolver.Expand(c, values))] : null!,
            Cmd = spec.Args is { Count: > 0 } args ? [.. args.Select(a => EnvResolver.Expand(a, values))] : null!,
            Env = [.. env.Select(kv => $"{kv.Key}={kv.Value}")],
            WorkingDir = spec.WorkingDir,
            User = User(pod, spec)!,
            Tty = spec.Tty ?? false,
            OpenStdin = spec.Stdin ?? false,
            Labels = labels,
            HostConfig = new HostConfig
            {
                NetworkMode = "container:" + sandboxId,
                IpcMode = "container:" + sandboxId,
                Binds = Binds(pod, spec, volumeSources),
                Memory = Limit(spec, "memory", q => (long)q),
                NanoCPUs = Limit(spec, "cpu", q => (long)(q * 1_000_000_000m)),
                GroupAdd = pod.Spec.SecurityContext?.FsGroup is { } fsGroup ? [fsGroup.ToString(CultureInfo.InvariantCulture)] : null!,
            },
        };
        return parameters;
    }

    private static long Limit(V1Container spec, string resource, Func<decimal, long> convert) =>
        spec.Resources?.Limits?.TryGetValue(resource, out var quantity) == true ? convert(quantity.ToDecimal()) : 0;

    private static string? User(V1Pod pod, V1Container spec)
    {
        var uid = spec.SecurityContext?.RunAsUser ?? pod.Spec.SecurityContext?.RunAsUser;
        var gid = spec.SecurityContext?.RunAsGroup ?? pod.Spec.SecurityContext?.RunAsGroup;
        return uid is null ? null : gid is null ? uid.Value.ToString(CultureInfo.InvariantCulture) : FormattableString.Invariant($"{uid}:{gid}");
    }

    private static List<string> Binds(V1Pod pod, V1Container spec, IReadOnlyDictionary<string, string> volumeSources)
    {
        var binds = new List<string>();
        foreach (var mount in spec.VolumeMounts ?? [])
        {
            var volume = pod.Spec.Volumes?.FirstOrDefault(v => v.Name == mount.Name)
                ?? throw new PodConfigException("CreateContainerConfigError", $"volume \"{mount.Name}\" not found in the pod");
            if (!volumeSources.TryGetValue(mount.Name, out var source))
            {
                throw new PodConfigException("CreateContainerConfigError", $"volume \"{mount.Name}\": only configMap, secret, projected, emptyDir and persistentVolumeClaim volumes are emulated");
            }
            var readOnly = mount.ReadOnlyProperty == true || VolumeProjector.IsProjected(volume);
            if (!string.IsNullOrEmpty(mount.SubPath))
            {
                if (volume.PersistentVolumeClaim is not null)
                {
                    throw new PodConfigException("CreateContainerConfigError", $"volume \"{mount.Name}\": subPath on a persistentVolumeClaim is not emulated");
                }
                source = Path.Combine(source, mount.SubPath);
                if (!File.Exists(source))
                {
                    Directory.CreateDirectory(source);
                }
            }
            binds.Add($"{source}:{mount.MountPath}{(readOnly ? ":ro" : "")}");
        }
        return binds;
    }
}
