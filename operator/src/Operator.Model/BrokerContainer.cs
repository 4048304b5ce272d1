namespace Operator.Model;

/// <summary>
/// The contract with our broker image (Dockerfile.broker, broker/config/server.properties, docs/metrics.md):
/// where the executable is, where the generated config is mounted, and the side ports. Thread-safe (constants).
/// </summary>
public static class BrokerContainer
{
    public const string Name = "kafka";
    public const string Dotnet = "dotnet";
    public const string Executable = "/opt/kafka/bin/kafka-broker.dll";

    /// <summary>Every node's ConfigMap is projected under <c>&lt;dir&gt;/&lt;pod name&gt;/</c>.</summary>
    public const string ConfigDirectory = "/opt/kafka/custom-config";
    public const string ServerConfigKey = "server.config";
    public const string ClusterIdKey = "cluster.id";
    public const string MetadataVersionKey = "metadata.version";

    /// <summary>
    /// KAFKA_* variables the image sets with ENV. The broker lets the environment win over the file, so the pod
    /// starts the broker through <c>env -u</c> for each of them; a test checks this list against Dockerfile.broker.
    /// </summary>
    public static readonly IReadOnlyList<string> ImageEnvironmentToUnset = ["KAFKA_LOG_DIRS", "KAFKA_LISTENERS"];

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

    public static IList<string> Command =>
        ["env", .. ImageEnvironmentToUnset.SelectMany(v => new[] { "-u", v }), Dotnet, Executable, "start", "--config", ServerConfigPath];
}
