namespace Operator.Model;

/// <summary>
/// The contract with our broker image (Dockerfile.broker, broker/config/server.properties, docs/metrics.md):
/// where the executable is, where the generated config is mounted, and the side ports. Thread-safe (constants).
/// </summary>
public static class BrokerContainer
{
    public const string Name = "kafka";

    /// <summary>The image's entrypoint, a self-contained executable (Dockerfile.broker); a test checks it against the Dockerfile.</summary>
    public const string Executable = "/opt/kafka/bin/kafka-broker";

    /// <summary>Every node's ConfigMap is projected under <c>&lt;dir&gt;/&lt;pod name&gt;/</c>.</summary>
    public const string ConfigDirectory = "/opt/kafka/custom-config";
    public const string ServerConfigKey = "server.config";
    public const string ClusterIdKey = "cluster.id";
    public const string MetadataVersionKey = "metadata.version";

    public const int ControlPlanePort = 9090;
    public const int ReplicationPort = 9091;
    public const int HealthPort = 8080;
    public const int MetricsPort = 9404;
    public const string ControlPlaneListener = "CONTROLPLANE-9090";
    public const string ReplicationListener = "REPLICATION-9091";
    public const string ReadinessPath = "/v1/ready";
    public const string BrokerStatePath = "/v1/broker-state";

    /// <summary>User id of the image (useradd --uid 1001); volumes are given to this group.</summary>
    public const long ImageUser = 1001;

    /// <summary>The path of a node's server.config inside the container, with the pod name as a Kubernetes variable.</summary>
    public const string ServerConfigPath = ConfigDirectory + "/$(POD_NAME)/" + ServerConfigKey;

    /// <summary>
    /// The image's own start, on the node's generated config: <c>--auto-format</c> formats the node's empty volumes
    /// with cluster.id on first start and refuses volumes of another cluster or node. The image sets no KAFKA_*
    /// variable (its defaults are in its own server.properties), so nothing in the environment overrides the file.
    /// </summary>
    public static IList<string> Command => [Executable, "start", "--auto-format", "--config", ServerConfigPath];
}
