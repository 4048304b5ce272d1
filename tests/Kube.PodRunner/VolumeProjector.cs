using System.Text;
using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// Writes a pod's ConfigMap, Secret and projected volumes as files under a host directory (bind-mounted into its containers) and
/// keeps them in step with the objects, like the kubelet's periodic volume sync: changed keys are rewritten (a new
/// file renamed over the old one), removed keys deleted, modes from <c>items[].mode</c> or <c>defaultMode</c>. Unlike
/// the kubelet it does not swap a <c>..data</c> symlink, so a reader can see some keys updated before others.
/// Owned by one pod worker.
/// </summary>
public static class VolumeProjector
{
    private const int DefaultMode = 420; // 0644, the API default for ConfigMap and Secret volumes

    /// <summary>True for the volume kinds this class writes: configMap, secret and projected.</summary>
    public static bool IsProjected(V1Volume volume) => volume.ConfigMap is not null || volume.Secret is not null || volume.Projected is not null;

    /// <summary>
    /// The files a configMap, secret or projected (configMap and secret sources) volume should hold: relative path →
    /// content and mode. Throws <see cref="PodConfigException"/> while a non-optional source is missing.
    /// </summary>
    public static Dictionary<string, (byte[] Content, int Mode)> DesiredFiles(V1Volume volume, string ns, ClusterState state)
    {
        var files = new Dictionary<string, (byte[], int)>(StringComparer.Ordinal);
        if (volume.ConfigMap is { } cm)
        {
            AddConfigMap(files, volume.Name, ns, state, cm.Name, cm.Items, cm.DefaultMode ?? DefaultMode, cm.Optional == true);
        }
        else if (volume.Secret is { } secret)
        {
            AddSecret(files, volume.Name, ns, state, secret.SecretName, secret.Items, secret.DefaultMode ?? DefaultMode, secret.Optional == true);
        }
        else if (volume.Projected is { } projected)
        {
            var mode = projected.DefaultMode ?? DefaultMode;
            foreach (var source in projected.Sources ?? [])
            {
                if (source.ConfigMap is { } pcm)
                {
                    AddConfigMap(files, volume.Name, ns, state, pcm.Name, pcm.Items, mode, pcm.Optional == true);
                }
                else if (source.Secret is { } ps)
                {
                    AddSecret(files, volume.Name, ns, state, ps.Name, ps.Items, mode, ps.Optional == true);
                }
                else
                {
                    throw new PodConfigException("CreateContainerConfigError",
                        $"volume \"{volume.Name}\": only configMap and secret projections are emulated");
                }
            }
        }
        return files;
    }

    private static void AddConfigMap(Dictionary<string, (byte[], int)> files, string volume, string ns, ClusterState state, string name,
        IList<V1KeyToPath>? items, int mode, bool optional) =>
        Add(files, volume, state.ConfigMap(ns, name) is { } cm ? ConfigMapBytes(cm) : null, items, mode, optional, $"configmap \"{name}\"");

    private static void AddSecret(Dictionary<string, (byte[], int)> files, string volume, string ns, ClusterState state, string name,
        IList<V1KeyToPath>? items, int mode, bool optional) =>
        Add(files, volume, state.Secret(ns, name) is { } secret ? secret.Data ?? new Dictionary<string, byte[]>() : null, items, mode, optional, $"secret \"{name}\"");

    private static void Add(Dictionary<string, (byte[], int)> files, string volume, IDictionary<string, byte[]>? data, IList<V1KeyToPath>? items,
        int mode, bool optional, string what)
    {
        if (data is null)
        {
            if (optional)
            {
                return;
            }
            throw new PodConfigException("ContainerCreating", $"MountVolume.SetUp failed for volume \"{volume}\": {what} not found");
        }
        if (items is null || items.Count == 0)
        {
            foreach (var (key, value) in data)
            {
                files[key] = (value, mode);
            }
            return;
        }
        foreach (var item in items)
        {
            if (!data.TryGetValue(item.Key, out var value))
            {
                if (optional)
                {
                    continue;
                }
                throw new PodConfigException("ContainerCreating", $"MountVolume.SetUp failed for volume \"{volume}\": {what} has no key {item.Key}");
            }
            files[item.Path] = (value, item.Mode ?? mode);
        }
    }

    /// <summary>Makes <paramref name="directory"/> hold exactly <paramref name="files"/>; true when anything changed.</summary>
    public static bool Sync(string directory, IReadOnlyDictionary<string, (byte[] Content, int Mode)> files)
    {
        Directory.CreateDirectory(directory);
        var changed = false;
        foreach (var (relative, (content, mode)) in files)
        {
            var path = Path.GetFullPath(Path.Combine(directory, relative));
            if (!path.StartsWith(Path.GetFullPath(directory) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue; // the apiserver rejects ".." in item paths; never write outside the volume
            }
            var unixMode = (UnixFileMode)(mode & 0x1FF);
            if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(content) && (OperatingSystem.IsWindows() || File.GetUnixFileMode(path) == unixMode))
            {
                continue;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = path + ".podrunner-tmp";
            File.WriteAllBytes(temp, content);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, unixMode);
            }
            File.Move(temp, path, overwrite: true);
            changed = true;
        }
        foreach (var existing in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(directory, existing);
            if (!files.ContainsKey(relative))
            {
                File.Delete(existing);
                changed = true;
            }
        }
        return changed;
    }

    private static Dictionary<string, byte[]> ConfigMapBytes(V1ConfigMap cm)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (k, v) in cm.Data ?? new Dictionary<string, string>())
        {
            result[k] = Encoding.UTF8.GetBytes(v);
        }
        foreach (var (k, v) in cm.BinaryData ?? new Dictionary<string, byte[]>())
        {
            result[k] = v;
        }
        return result;
    }
}
