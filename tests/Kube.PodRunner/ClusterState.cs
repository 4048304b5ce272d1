using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// One consistent-enough listing of what the runner reads from the API server: pods, services, ConfigMaps, Secrets
/// and PersistentVolumeClaims, keyed by <c>namespace/name</c>. Immutable once built; a new one replaces it on every
/// resync, so readers never lock. Thread-safe.
/// </summary>
public sealed class ClusterState
{
    public static ClusterState Empty { get; } = new([], [], [], [], []);

    public ClusterState(IEnumerable<V1Pod> pods, IEnumerable<V1Service> services, IEnumerable<V1ConfigMap> configMaps,
        IEnumerable<V1Secret> secrets, IEnumerable<V1PersistentVolumeClaim> claims)
    {
        Pods = pods.ToDictionary(p => Key(p.Metadata), StringComparer.Ordinal);
        Services = services.ToDictionary(s => Key(s.Metadata), StringComparer.Ordinal);
        ConfigMaps = configMaps.ToDictionary(c => Key(c.Metadata), StringComparer.Ordinal);
        Secrets = secrets.ToDictionary(s => Key(s.Metadata), StringComparer.Ordinal);
        Claims = claims.ToDictionary(c => Key(c.Metadata), StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, V1Pod> Pods { get; }

    public IReadOnlyDictionary<string, V1Service> Services { get; }

    public IReadOnlyDictionary<string, V1ConfigMap> ConfigMaps { get; }

    public IReadOnlyDictionary<string, V1Secret> Secrets { get; }

    public IReadOnlyDictionary<string, V1PersistentVolumeClaim> Claims { get; }

    public static string Key(V1ObjectMeta meta) => Key(meta.NamespaceProperty, meta.Name);

    public static string Key(string? ns, string name) => (ns ?? "") + "/" + name;

    public V1ConfigMap? ConfigMap(string ns, string name) => ConfigMaps.GetValueOrDefault(Key(ns, name));

    public V1Secret? Secret(string ns, string name) => Secrets.GetValueOrDefault(Key(ns, name));
}

/// <summary>A pod that cannot start yet, with the waiting reason the kubelet reports (e.g. CreateContainerConfigError). Immutable.</summary>
public sealed class PodConfigException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}
