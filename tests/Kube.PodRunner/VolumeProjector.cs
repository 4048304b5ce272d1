using System.Text;
using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// Writes a pod's ConfigMap and Secret volumes as files under a host directory (bind-mounted into its containers) and
/// keeps them in step with the objects, like the kubelet's periodic volume sync: changed keys are rewritten (a new
/// file renamed over the old one), removed keys deleted, modes from <c>items[].mode</c> or <c>defaultMode</c>. Unlike
/// the kubelet it does not swap a <c>..data</c> symlink, so a reader can see some keys updated before others.
/// Owned by one pod worker.
/// </summary>
public static class VolumeProjector
{
    private const int DefaultMode = 420; // 0644, the API default for ConfigMap and Secret volumes

    /// <summary>The files a ConfigMap or Secret volume should hold (relative path → content, mode), or null when the pod must wait.</summary>
    public static Dictionary<string, (byte[] Content, int Mode)>? DesiredFiles(V1Volume volume, string ns, ClusterState state)
    {
        IDictionary<string, byte[]>? data;
        IList<V1KeyToPath>? items;
        int? defaultMode;
        bool optional;
        string what;
        if (volume.ConfigMap is { } cmSource)
        {
            var cm = state.ConfigMap(ns, cmSource.Name);
            data = cm is null ? null : ConfigMapBytes(cm);
            (items, defaultMode, optional, what) = (cmSource.Items, cmSource.DefaultMode, cmSource.Optional == true, $"configmap \"{cmSource.Name}\"");
        }
        else if (volume.Secret is { } sSource)
        {
            data = state.Secret(ns, sSource.SecretName)?.Data;
            if (data is null && state.Secret(ns, sSource.SecretName) is not null)
            {
                data = new Dictionary<string, byte[]>();
            }
            (items, defaultMode, optional, what) = (sSource.Items, sSource.DefaultMode, sSource.Optional == true, $"secret \"{sSource.SecretName}\"");
        }
        else
        {
            return null;
        }

        var files = new Dictionary<string, (byte[], int)>(StringComparer.Ordinal);
        if (data is null)
        {
            if (optional)
            {
                return files;
            }
            throw new PodConfigException("ContainerCreating", $"MountVolume.SetUp failed for volume \"{volume.Name}\": {what} not found");
        }
        var mode = defaultMode ?? DefaultMode;
        if (items is null || items.Count == 0)
        {
            foreach (var (key, value) in data)
            {
                files[key] = (value, mode);
            }
            return files;
        }
        foreach (var item in items)
        {
            if (!data.TryGetValue(item.Key, out var value))
            {
                if (optional)
                {
                    continue;
                }
                throw new PodConfigException("ContainerCreating", $"MountVolume.SetUp failed for volume \"{volume.Name}\": {what} has no key {item.Key}");
            }
            files[item.Path] = (value, item.Mode ?? mode);
        }
        return files;
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
