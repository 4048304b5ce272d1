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

// The rolling-update annotations of each node's pod.
public sealed partial class KafkaClusterModel
{
    /// <summary>Hash of the pod template (Strimzi's <c>strimzi.io/revision</c>); a pod whose value differs is restarted.</summary>
    public const string RevisionAnnotation = "strimzi.io/revision";

    /// <summary>Hash of the node's ConfigMap data (Strimzi's <c>strimzi.io/configuration-hash</c>), part of the revision.</summary>
    public const string ConfigurationHashAnnotation = "strimzi.io/configuration-hash";

    public const string ClusterCaCertGenerationAnnotation = "strimzi.io/cluster-ca-cert-generation";
    public const string ClusterCaKeyGenerationAnnotation = "strimzi.io/cluster-ca-key-generation";
    public const string ClientsCaCertGenerationAnnotation = "strimzi.io/clients-ca-cert-generation";

    /// <summary>Strimzi's manual restart request, on a StrimziPodSet (every pod of it) or a pod.</summary>
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
    /// Adds the rolling-update annotations to a node's pod: the CA generations (when known), the node's configuration
    /// hash and, last, the revision: a hash of the whole pod as it is then, so any change to it (image, env, volumes,
    /// probes, resources, CA generations, configuration) restarts that pod and no other.
    /// </summary>
    private void AddRevisionAnnotations(NodePoolModel pool, int nodeId, V1Pod pod)
    {
        var annotations = pod.Metadata.Annotations;
        if (Options.CaGenerations is { } generations)
        {
            annotations[ClusterCaCertGenerationAnnotation] = Int(generations.ClusterCaCert);
            annotations[ClusterCaKeyGenerationAnnotation] = Int(generations.ClusterCaKey);
            annotations[ClientsCaCertGenerationAnnotation] = Int(generations.ClientsCaCert);
        }

        annotations[ConfigurationHashAnnotation] = NodeConfigurationHash(pool, nodeId);
        annotations[RevisionAnnotation] = Hash(KubernetesJson.Serialize(pod));
    }

    // 80 bits of SHA-256 in hex: as short as Strimzi's SHA-1 stub and plenty to tell revisions apart.
    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..20];

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
