using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Operator.Api;

namespace Operator.Model;

/// <summary>Strimzi's label sets (OC/model/Labels.java). Stateless; thread-safe.</summary>
public static partial class Labels
{
    public const string ManagedBy = "strimzi-cluster-operator";

    /// <summary>
    /// Labels of a CR that generated objects inherit: all but <c>app.kubernetes.io/*</c> (except part-of),
    /// Flux's, and <c>strimzi.io/*</c> (the operator sets those itself). Strimzi's default exclusion pattern.
    /// </summary>
    public static ImmutableSortedDictionary<string, string> FromCustomResource(IDictionary<string, string>? labels) =>
        (labels ?? new Dictionary<string, string>())
            .Where(l => !Excluded().IsMatch(l.Key) && !l.Key.StartsWith("strimzi.io/", StringComparison.Ordinal))
            .ToImmutableSortedDictionary(StringComparer.Ordinal);

    /// <summary>Labels of cluster-wide Kafka objects (Services, PDB, NetworkPolicy, RBAC).</summary>
    public static ImmutableSortedDictionary<string, string> Cluster(string cluster, IDictionary<string, string>? kafkaLabels)
    {
        var builder = FromCustomResource(kafkaLabels).ToBuilder();
        foreach (var (key, value) in Selector(cluster))
        {
            builder[key] = value;
        }

        builder[StrimziLabels.ComponentType] = "kafka";
        builder[StrimziLabels.AppName] = "kafka";
        builder[StrimziLabels.AppInstance] = cluster;
        builder[StrimziLabels.AppPartOf] = "strimzi-" + cluster;
        builder[StrimziLabels.AppManagedBy] = ManagedBy;
        return builder.ToImmutable();
    }

    /// <summary>Labels of a pool's objects (StrimziPodSet, ConfigMaps, PVCs): cluster labels, pool name, pool CR labels.</summary>
    public static ImmutableSortedDictionary<string, string> Pool(string cluster, IDictionary<string, string>? kafkaLabels, NodePoolModel pool)
    {
        var builder = pool.Labels.ToBuilder();
        foreach (var (key, value) in Cluster(cluster, kafkaLabels))
        {
            builder[key] = value;
        }

        builder[StrimziLabels.PoolName] = pool.Name;
        return builder.ToImmutable();
    }

    /// <summary>Strimzi's selector set: cluster, name and kind (all Kafka nodes of the cluster).</summary>
    public static ImmutableSortedDictionary<string, string> Selector(string cluster) =>
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, string>
        {
            [StrimziLabels.Cluster] = cluster,
            [StrimziLabels.Name] = cluster + "-kafka",
            [StrimziLabels.Kind] = "Kafka",
        });

    public static ImmutableSortedDictionary<string, string> PoolSelector(string cluster, string pool) =>
        Selector(cluster).Add(StrimziLabels.PoolName, pool);

    /// <summary>Selects the broker nodes (bootstrap Services).</summary>
    public static ImmutableSortedDictionary<string, string> BrokerSelector(string cluster) =>
        Selector(cluster).Add(StrimziLabels.BrokerRole, "true");

    /// <summary>The label selector string of a pool, as its status.labelSelector (scale subresource).</summary>
    public static string SelectorString(IEnumerable<KeyValuePair<string, string>> labels) =>
        string.Join(',', labels.Select(l => l.Key + "=" + l.Value));

    [GeneratedRegex("^app\\.kubernetes\\.io/(?!part-of).*|^kustomize\\.toolkit\\.fluxcd\\.io.*")]
    private static partial Regex Excluded();
}
