using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Operator.Api.Schema;

namespace Operator.Api;

/// <summary>The Kafka custom resource (kafkas.kafka.strimzi.io). Not thread-safe (a plain DTO).</summary>
public sealed class Kafka : CustomResource<KafkaSpec, KafkaStatus>
{
    public Kafka() => Kind = "Kafka";
}

/// <summary>
/// Kafka.spec. One schema serves v1, v1beta2 and v1beta1, so it also carries the legacy fields
/// (<c>kafka.replicas</c>, <c>kafka.storage</c>, <c>zookeeper</c>, <c>jmxTrans</c>). Not thread-safe.
/// </summary>
public sealed class KafkaSpec
{
    [RequiredField, JsonPropertyName("kafka")] public KafkaClusterSpec? Kafka { get; set; }

    [PreserveUnknownFields, Doc("Legacy (v1beta2 and older): accepted and ignored, the cluster runs KRaft.")]
    [JsonPropertyName("zookeeper")] public JsonObject? Zookeeper { get; set; }

    [JsonPropertyName("entityOperator")] public EntityOperatorSpec? EntityOperator { get; set; }
    [JsonPropertyName("clusterCa")] public CertificateAuthority? ClusterCa { get; set; }
    [JsonPropertyName("clientsCa")] public CertificateAuthority? ClientsCa { get; set; }
    [PreserveUnknownFields, JsonPropertyName("cruiseControl")] public JsonObject? CruiseControl { get; set; }
    [PreserveUnknownFields, JsonPropertyName("kafkaExporter")] public JsonObject? KafkaExporter { get; set; }
    [PreserveUnknownFields, JsonPropertyName("jmxTrans")] public JsonObject? JmxTrans { get; set; }
    [JsonPropertyName("maintenanceTimeWindows")] public List<string>? MaintenanceTimeWindows { get; set; }
}

/// <summary>Kafka.spec.kafka: configuration shared by every node of the cluster. Not thread-safe.</summary>
public sealed class KafkaClusterSpec
{
    [JsonPropertyName("version")] public string? Version { get; set; }
    [JsonPropertyName("metadataVersion")] public string? MetadataVersion { get; set; }

    [Minimum(0), Doc("Legacy (v1beta2 and older): without KafkaNodePools the cluster gets an implicit pool 'kafka' of this size.")]
    [JsonPropertyName("replicas")] public int? Replicas { get; set; }

    [JsonPropertyName("image")] public string? Image { get; set; }

    // Not required in the schema: older manifests (the seed's sample fragments) leave it out. The model requires it.
    [JsonPropertyName("listeners")] public List<GenericKafkaListener>? Listeners { get; set; }

    [PreserveUnknownFields, JsonPropertyName("config")] public JsonObject? Config { get; set; }

    [Doc("Legacy (v1beta2 and older): storage of the implicit node pool.")]
    [JsonPropertyName("storage")] public Storage? Storage { get; set; }

    [JsonPropertyName("authorization")] public KafkaAuthorization? Authorization { get; set; }
    [JsonPropertyName("rack")] public Rack? Rack { get; set; }
    [JsonPropertyName("brokerRackInitImage")] public string? BrokerRackInitImage { get; set; }
    [PreserveUnknownFields, JsonPropertyName("resources")] public JsonObject? Resources { get; set; }
    [JsonPropertyName("jvmOptions")] public JvmOptions? JvmOptions { get; set; }
    [JsonPropertyName("livenessProbe")] public Probe? LivenessProbe { get; set; }
    [JsonPropertyName("readinessProbe")] public Probe? ReadinessProbe { get; set; }
    [PreserveUnknownFields, JsonPropertyName("jmxOptions")] public JsonObject? JmxOptions { get; set; }
    [PreserveUnknownFields, JsonPropertyName("metricsConfig")] public JsonObject? MetricsConfig { get; set; }
    [PreserveUnknownFields, Doc("Legacy (v1beta1): inline JMX exporter rules.")]
    [JsonPropertyName("metrics")] public JsonObject? Metrics { get; set; }
    [PreserveUnknownFields, JsonPropertyName("logging")] public JsonObject? Logging { get; set; }
    [PreserveUnknownFields, JsonPropertyName("template")] public JsonObject? Template { get; set; }
    [PreserveUnknownFields, JsonPropertyName("tieredStorage")] public JsonObject? TieredStorage { get; set; }
    [PreserveUnknownFields, JsonPropertyName("quotas")] public JsonObject? Quotas { get; set; }
    [PreserveUnknownFields, Doc("Legacy (v1beta1).")]
    [JsonPropertyName("tlsSidecar")] public JsonObject? TlsSidecar { get; set; }
}

/// <summary>One entry of spec.kafka.listeners. Not thread-safe.</summary>
public sealed class GenericKafkaListener
{
    [RequiredField, Pattern("^[a-z0-9]{1,11}$"), JsonPropertyName("name")] public string? Name { get; set; }
    [RequiredField, Minimum(9092), JsonPropertyName("port")] public int? Port { get; set; }

    [RequiredField, EnumValues("internal", "route", "tlsroute", "loadbalancer", "nodeport", "ingress", "cluster-ip")]
    [JsonPropertyName("type")] public string? Type { get; set; }

    [RequiredField, JsonPropertyName("tls")] public bool? Tls { get; set; }
    [JsonPropertyName("authentication")] public ListenerAuthentication? Authentication { get; set; }
    [JsonPropertyName("configuration")] public ListenerConfiguration? Configuration { get; set; }
    [PreserveUnknownFields, JsonPropertyName("networkPolicyPeers")] public List<JsonObject>? NetworkPolicyPeers { get; set; }

    [Doc("Legacy (the seed's manifests put it on the listener): configuration.useServiceDnsDomain is where it belongs.")]
    [JsonPropertyName("useServiceDnsDomain")] public bool? UseServiceDnsDomain { get; set; }
}

/// <summary>spec.kafka.listeners[].authentication. OAuth fields (v1beta2) are kept as sent. Not thread-safe.</summary>
public sealed class ListenerAuthentication
{
    [RequiredField, EnumValues("tls", "scram-sha-512", "custom", "oauth")]
    [JsonPropertyName("type")] public string? Type { get; set; }

    [JsonPropertyName("sasl")] public bool? Sasl { get; set; }
    [PreserveUnknownFields, JsonPropertyName("listenerConfig")] public JsonObject? ListenerConfig { get; set; }
}

/// <summary>spec.kafka.listeners[].configuration. Not thread-safe.</summary>
public sealed class ListenerConfiguration
{
    [JsonPropertyName("brokerCertChainAndKey")] public CertAndKeySecretSource? BrokerCertChainAndKey { get; set; }
    [JsonPropertyName("class")] public string? Class { get; set; }
    [EnumValues("Local", "Cluster"), JsonPropertyName("externalTrafficPolicy")] public string? ExternalTrafficPolicy { get; set; }
    [JsonPropertyName("loadBalancerSourceRanges")] public List<string>? LoadBalancerSourceRanges { get; set; }
    [JsonPropertyName("createBootstrapService")] public bool? CreateBootstrapService { get; set; }
    [JsonPropertyName("useServiceDnsDomain")] public bool? UseServiceDnsDomain { get; set; }
    [JsonPropertyName("publishNotReadyAddresses")] public bool? PublishNotReadyAddresses { get; set; }
    [EnumValues("ExternalIP", "ExternalDNS", "InternalIP", "InternalDNS", "Hostname")]
    [JsonPropertyName("preferredNodePortAddressType")] public string? PreferredNodePortAddressType { get; set; }
    [JsonPropertyName("maxConnections")] public int? MaxConnections { get; set; }
    [JsonPropertyName("maxConnectionCreationRate")] public int? MaxConnectionCreationRate { get; set; }
    [JsonPropertyName("hostTemplate")] public string? HostTemplate { get; set; }
    [JsonPropertyName("advertisedHostTemplate")] public string? AdvertisedHostTemplate { get; set; }
    [JsonPropertyName("bootstrap")] public ListenerBootstrap? Bootstrap { get; set; }
    [JsonPropertyName("brokers")] public List<ListenerBroker>? Brokers { get; set; }
}

/// <summary>A Secret holding a certificate and its key. Not thread-safe.</summary>
public sealed class CertAndKeySecretSource
{
    [RequiredField, JsonPropertyName("secretName")] public string? SecretName { get; set; }
    [RequiredField, JsonPropertyName("certificate")] public string? Certificate { get; set; }
    [RequiredField, JsonPropertyName("key")] public string? Key { get; set; }
}

/// <summary>configuration.bootstrap of a listener. Not thread-safe.</summary>
public sealed class ListenerBootstrap
{
    [JsonPropertyName("alternativeNames")] public List<string>? AlternativeNames { get; set; }
    [JsonPropertyName("host")] public string? Host { get; set; }
    [JsonPropertyName("nodePort")] public int? NodePort { get; set; }
    [JsonPropertyName("loadBalancerIP")] public string? LoadBalancerIP { get; set; }
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
    [JsonPropertyName("labels")] public Dictionary<string, string>? Labels { get; set; }
}

/// <summary>configuration.brokers[] of a listener: per-node overrides. Not thread-safe.</summary>
public sealed class ListenerBroker
{
    [RequiredField, JsonPropertyName("broker")] public int? Broker { get; set; }
    [JsonPropertyName("advertisedHost")] public string? AdvertisedHost { get; set; }
    [JsonPropertyName("advertisedPort")] public int? AdvertisedPort { get; set; }
    [JsonPropertyName("host")] public string? Host { get; set; }
    [JsonPropertyName("nodePort")] public int? NodePort { get; set; }
    [JsonPropertyName("loadBalancerIP")] public string? LoadBalancerIP { get; set; }
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
    [JsonPropertyName("labels")] public Dictionary<string, string>? Labels { get; set; }
}

/// <summary>spec.kafka.authorization; opa/keycloak fields (v1beta2) are kept as sent. Not thread-safe.</summary>
public sealed class KafkaAuthorization
{
    [RequiredField, EnumValues("simple", "custom", "opa", "keycloak")]
    [JsonPropertyName("type")] public string? Type { get; set; }

    [JsonPropertyName("superUsers")] public List<string>? SuperUsers { get; set; }
    [JsonPropertyName("authorizerClass")] public string? AuthorizerClass { get; set; }
    [JsonPropertyName("supportsAdminApi")] public bool? SupportsAdminApi { get; set; }
}

/// <summary>spec.kafka.rack. Not thread-safe.</summary>
[CelRule("(has(self.type) && self.type != \"topology-label\") || self.topologyKey != \"\"", "topologyKey property is required")]
[CelRule("has(self.type) == false || self.type != \"environment-variable\" || self.envVarName != \"\"", "envVarName property is required")]
public sealed class Rack
{
    [EnumValues("topology-label", "environment-variable"), JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("topologyKey")] public string? TopologyKey { get; set; }
    [JsonPropertyName("envVarName")] public string? EnvVarName { get; set; }
}

/// <summary>jvmOptions. Kept for compatibility; the .NET broker reads none of them yet. Not thread-safe.</summary>
public sealed class JvmOptions
{
    [Pattern("^[0-9]+[mMgG]?$"), JsonPropertyName("-Xmx")] public string? Xmx { get; set; }
    [Pattern("^[0-9]+[mMgG]?$"), JsonPropertyName("-Xms")] public string? Xms { get; set; }
    [PreserveUnknownFields, JsonPropertyName("-XX")] public JsonObject? XX { get; set; }
    [JsonPropertyName("gcLoggingEnabled")] public bool? GcLoggingEnabled { get; set; }
    [PreserveUnknownFields, JsonPropertyName("javaSystemProperties")] public List<JsonObject>? JavaSystemProperties { get; set; }
}

/// <summary>A probe's timings. Not thread-safe.</summary>
public sealed class Probe
{
    [Minimum(0), JsonPropertyName("initialDelaySeconds")] public int? InitialDelaySeconds { get; set; }
    [Minimum(1), JsonPropertyName("timeoutSeconds")] public int? TimeoutSeconds { get; set; }
    [Minimum(1), JsonPropertyName("periodSeconds")] public int? PeriodSeconds { get; set; }
    [Minimum(1), JsonPropertyName("successThreshold")] public int? SuccessThreshold { get; set; }
    [Minimum(1), JsonPropertyName("failureThreshold")] public int? FailureThreshold { get; set; }
}

/// <summary>clusterCa / clientsCa. Not thread-safe.</summary>
public sealed class CertificateAuthority
{
    [JsonPropertyName("generateCertificateAuthority")] public bool? GenerateCertificateAuthority { get; set; }
    [JsonPropertyName("generateSecretOwnerReference")] public bool? GenerateSecretOwnerReference { get; set; }
    [Minimum(1), JsonPropertyName("validityDays")] public int? ValidityDays { get; set; }
    [Minimum(1), JsonPropertyName("renewalDays")] public int? RenewalDays { get; set; }
    [EnumValues("renew-certificate", "replace-key"), JsonPropertyName("certificateExpirationPolicy")] public string? CertificateExpirationPolicy { get; set; }
}

/// <summary>spec.entityOperator; operator settings are kept as sent until the entity operators exist. Not thread-safe.</summary>
public sealed class EntityOperatorSpec
{
    [PreserveUnknownFields, JsonPropertyName("topicOperator")] public JsonObject? TopicOperator { get; set; }
    [PreserveUnknownFields, JsonPropertyName("userOperator")] public JsonObject? UserOperator { get; set; }
    [PreserveUnknownFields, JsonPropertyName("template")] public JsonObject? Template { get; set; }
    [PreserveUnknownFields, Doc("Legacy (v1beta2).")]
    [JsonPropertyName("tlsSidecar")] public JsonObject? TlsSidecar { get; set; }
}

/// <summary>Kafka.status. Not thread-safe.</summary>
public sealed class KafkaStatus : StatusBase
{
    [JsonPropertyName("listeners")] public List<ListenerStatus>? Listeners { get; set; }
    [JsonPropertyName("kafkaNodePools")] public List<UsedNodePoolStatus>? KafkaNodePools { get; set; }
    [JsonPropertyName("clusterId")] public string? ClusterId { get; set; }
    [JsonPropertyName("operatorLastSuccessfulVersion")] public string? OperatorLastSuccessfulVersion { get; set; }
    [JsonPropertyName("kafkaVersion")] public string? KafkaVersion { get; set; }
    [JsonPropertyName("kafkaMetadataVersion")] public string? KafkaMetadataVersion { get; set; }
    [Doc("Legacy (v1beta2).")]
    [JsonPropertyName("kafkaMetadataState")] public string? KafkaMetadataState { get; set; }
}

/// <summary>Kafka.status.listeners[]. Not thread-safe.</summary>
public sealed class ListenerStatus
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("addresses")] public List<ListenerAddress>? Addresses { get; set; }
    [JsonPropertyName("bootstrapServers")] public string? BootstrapServers { get; set; }
    [JsonPropertyName("certificates")] public List<string>? Certificates { get; set; }
}

/// <summary>One address of a listener. Not thread-safe.</summary>
public sealed class ListenerAddress
{
    [JsonPropertyName("host")] public string? Host { get; set; }
    [JsonPropertyName("port")] public int? Port { get; set; }
}

/// <summary>Kafka.status.kafkaNodePools[]. Not thread-safe.</summary>
public sealed class UsedNodePoolStatus
{
    [JsonPropertyName("name")] public string? Name { get; set; }
}
