using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace Operator.Model;

/// <summary>
/// The Certificate Authority generations a node's pods were started with (Strimzi's pod annotations
/// <c>strimzi.io/cluster-ca-cert-generation</c>, <c>-key-generation</c>, <c>clients-ca-cert-generation</c>): a new CA
/// certificate or key changes them, and so restarts the pods. Immutable; thread-safe.
/// </summary>
public sealed record CaGenerations(int ClusterCaCert, int ClusterCaKey, int ClientsCaCert);

// The rolling-update annotations of the pod template.
public sealed partial class KafkaClusterModel
{
    /// <summary>Hash of the pod template (Strimzi's <c>strimzi.io/revision</c>); a pod whose value differs is restarted.</summary>
    public const string RevisionAnnotation = "strimzi.io/revision";

    /// <summary>
    /// JSON object of node id to the hash of that node's ConfigMap data. Strimzi puts a per-pod
    /// <c>strimzi.io/configuration-hash</c> on each pod of a StrimziPodSet; a StatefulSet has one template for all its
    /// pods, so the template carries every node's hash and each pod compares its own entry.
    /// </summary>
    public const string ConfigurationHashesAnnotation = "strimzi.io/configuration-hashes";

    public const string ClusterCaCertGenerationAnnotation = "strimzi.io/cluster-ca-cert-generation";
    public const string ClusterCaKeyGenerationAnnotation = "strimzi.io/cluster-ca-key-generation";
    public const string ClientsCaCertGenerationAnnotation = "strimzi.io/clients-ca-cert-generation";

    /// <summary>Strimzi's manual restart request, on a StatefulSet (every pod of it) or a pod.</summary>
    public const string ManualRollingUpdateAnnotation = "strimzi.io/manual-rolling-update";

    /// <summary>A stable hash of one node's ConfigMap data (server.config, cluster.id, metadata.version).</summary>
    public string NodeConfigurationHash(NodePoolModel pool, int nodeId)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var text = new StringBuilder();
        foreach (var (key, value) in BuildNodeConfigMap(pool, nodeId).Data)
        {
            text.Append(key).Append('\0').Append(value).Append('\0');
        }

        return Hash(text.ToString());
    }

    /// <summary>
    /// Adds the rolling-update annotations to a pool's pod template: the CA generations (when known), every node's
    /// configuration hash and, last, the revision: a hash of the template with the configuration hashes and the
    /// <c>custom-config</c> volume's sources left out, so scaling the pool (which adds a node's ConfigMap to the
    /// projection and a hash to the map) does not change the revision of the pods already running.
    /// </summary>
    private void AddRevisionAnnotations(NodePoolModel pool, V1PodTemplateSpec template)
    {
        var annotations = template.Metadata.Annotations;
        if (Options.CaGenerations is { } generations)
        {
            annotations[ClusterCaCertGenerationAnnotation] = Int(generations.ClusterCaCert);
            annotations[ClusterCaKeyGenerationAnnotation] = Int(generations.ClusterCaKey);
            annotations[ClientsCaCertGenerationAnnotation] = Int(generations.ClientsCaCert);
        }

        var hashed = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(template));
        var config = hashed.Spec.Volumes.First(v => v.Name == "custom-config");
        config.Projected.Sources = [];
        annotations[RevisionAnnotation] = Hash(KubernetesJson.Serialize(hashed));

        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in pool.NodeIds)
        {
            hashes[Int(id)] = NodeConfigurationHash(pool, id);
        }

        annotations[ConfigurationHashesAnnotation] = JsonSerializer.Serialize(hashes);
    }

    /// <summary>A node's entry of a pod's (or template's) configuration hashes annotation, or null.</summary>
    public static string? ConfigurationHashOf(IDictionary<string, string>? annotations, int nodeId)
    {
        if (annotations is null || !annotations.TryGetValue(ConfigurationHashesAnnotation, out var json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(json)?.GetValueOrDefault(Int(nodeId));
        }
        catch (JsonException)
        {
            return null; // edited by hand: treated as unknown, so the pod is restarted
        }
    }

    // 80 bits of SHA-256 in hex: as short as Strimzi's SHA-1 stub and plenty to tell revisions apart.
    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..20];

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
