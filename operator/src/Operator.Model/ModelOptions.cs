using System.Collections.Immutable;
using Operator.Api;

namespace Operator.Model;

/// <summary>
/// Everything the model needs besides the CRs. Values that must be generated or read elsewhere (the cluster
/// id, node ids already given out, the storage deployed now) come in here: the model never invents them.
/// Immutable; thread-safe.
/// </summary>
public sealed record ModelOptions
{
    /// <summary>Namespace of the Kafka CR; used in DNS names.</summary>
    public required string Namespace { get; init; }

    /// <summary>The KRaft cluster id: generated once by the reconciler and kept in Kafka.status.clusterId.</summary>
    public required string ClusterId { get; init; }

    /// <summary>Broker image (Dockerfile.broker) unless spec.kafka.image overrides it.</summary>
    public string Image { get; init; } = "kafka-broker:latest";

    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>Node ids each pool holds now (KafkaNodePool.status.nodeIds), by pool name.</summary>
    public ImmutableDictionary<string, ImmutableArray<int>> NodeIds { get; init; } = ImmutableDictionary<string, ImmutableArray<int>>.Empty;

    /// <summary>
    /// Storage deployed now, by pool name (the <c>strimzi.io/storage</c> annotation of the pool's StrimziPodSet);
    /// a pool missing here is new. Used to refuse shrinking a volume or changing its type.
    /// </summary>
    public ImmutableDictionary<string, Storage> CurrentStorage { get; init; } = ImmutableDictionary<string, Storage>.Empty;

    /// <summary>
    /// Addresses of external listeners that exist only once Kubernetes provisioned them (node addresses of
    /// nodeport listeners, load balancer ingress, route hosts), by listener name and node id. The reconciler
    /// reads them from the Services; until then a node advertises its internal DNS name (with a warning).
    /// </summary>
    public ImmutableDictionary<(string Listener, int NodeId), (string Host, int Port)> ExternalAddresses { get; init; } =
        ImmutableDictionary<(string Listener, int NodeId), (string Host, int Port)>.Empty;

    /// <summary>
    /// The CA generations the pods must run with (from the CA Secrets); null leaves the annotations out (the model
    /// used without certificates, as in the golden tests).
    /// </summary>
    public CaGenerations? CaGenerations { get; init; }
}
