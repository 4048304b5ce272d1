namespace Operator.Certificates;

/// <summary>
/// Strimzi's names for certificate subjects and SANs (KafkaResources, KafkaCluster node certificates,
/// ModelUtils service DNS names). Stateless; thread-safe.
/// </summary>
public static class CertificateNames
{
    /// <summary>Common name of every Kafka node certificate: <c>&lt;cluster&gt;-kafka</c>.</summary>
    public static string KafkaNodeCommonName(string cluster) => cluster + "-kafka";

    public const string ClusterOperatorCommonName = "cluster-operator";

    public static string TopicOperatorCommonName(string cluster) => cluster + "-entity-topic-operator";

    public static string UserOperatorCommonName(string cluster) => cluster + "-entity-user-operator";

    /// <summary>
    /// The SANs of one Kafka node's certificate, in Strimzi's order: every DNS form of the bootstrap Service and of
    /// the headless brokers Service, the pod's DNS name with and without the cluster domain, then, for brokers only,
    /// the external bootstrap and per-broker hosts or IPs (duplicates dropped, first occurrence kept).
    /// </summary>
    public static IReadOnlyList<string> KafkaNodeSans(string cluster, string @namespace, string podName, bool isBroker,
        IEnumerable<string>? externalHosts = null, string clusterDomain = "cluster.local")
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(podName);
        ArgumentException.ThrowIfNullOrEmpty(clusterDomain);

        var brokers = cluster + "-kafka-brokers";
        var names = new List<string>();
        names.AddRange(ServiceDnsNames(cluster + "-kafka-bootstrap", @namespace, clusterDomain));
        names.AddRange(ServiceDnsNames(brokers, @namespace, clusterDomain));
        names.Add($"{podName}.{brokers}.{@namespace}.svc");
        names.Add($"{podName}.{brokers}.{@namespace}.svc.{clusterDomain}");
        if (isBroker && externalHosts is not null)
        {
            names.AddRange(externalHosts.Where(h => !string.IsNullOrEmpty(h)));
        }

        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary><c>svc</c>, <c>svc.ns</c>, <c>svc.ns.svc</c>, <c>svc.ns.svc.&lt;domain&gt;</c>.</summary>
    public static IEnumerable<string> ServiceDnsNames(string service, string @namespace, string clusterDomain = "cluster.local") =>
    [
        service,
        $"{service}.{@namespace}",
        $"{service}.{@namespace}.svc",
        $"{service}.{@namespace}.svc.{clusterDomain}",
    ];
}
