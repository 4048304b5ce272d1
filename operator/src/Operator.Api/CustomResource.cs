using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Operator.Api;

/// <summary>
/// A kafka.strimzi.io custom resource: apiVersion, kind, metadata, spec and status, serialised with
/// System.Text.Json under Strimzi's field names. Not thread-safe (a plain DTO).
/// </summary>
public abstract class CustomResource<TSpec, TStatus> : IKubernetesObject<V1ObjectMeta>
    where TSpec : class
    where TStatus : StatusBase
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = StrimziGroup.Name + "/" + StrimziGroup.StorageVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = string.Empty;
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public TSpec? Spec { get; set; }
    [JsonPropertyName("status")] public TStatus? Status { get; set; }

    /// <summary>The value of the <c>strimzi.io/cluster</c> label, or null.</summary>
    [JsonIgnore, YamlDotNet.Serialization.YamlIgnore]
    public string? ClusterLabel =>
        Metadata.Labels is { } labels && labels.TryGetValue(StrimziLabels.Cluster, out var value) ? value : null;
}

/// <summary>The API group and its versions. Thread-safe (constants).</summary>
public static class StrimziGroup
{
    public const string Name = "kafka.strimzi.io";
    public const string StorageVersion = "v1";

    /// <summary>Served versions, storage first: every era's manifests apply (one schema, conversion None).</summary>
    public static readonly IReadOnlyList<string> ServedVersions = ["v1", "v1beta2", "v1beta1"];
}

/// <summary>Label keys Strimzi puts on CRs and on the objects generated for them. Thread-safe (constants).</summary>
public static class StrimziLabels
{
    public const string Cluster = "strimzi.io/cluster";
    public const string Kind = "strimzi.io/kind";
    public const string Name = "strimzi.io/name";
    public const string ComponentType = "strimzi.io/component-type";
    public const string PoolName = "strimzi.io/pool-name";
    public const string PodName = "strimzi.io/pod-name";
    public const string BrokerRole = "strimzi.io/broker-role";
    public const string ControllerRole = "strimzi.io/controller-role";
    public const string Controller = "strimzi.io/controller";
    public const string ControllerName = "strimzi.io/controller-name";
    public const string Discovery = "strimzi.io/discovery";
    public const string AppName = "app.kubernetes.io/name";
    public const string AppInstance = "app.kubernetes.io/instance";
    public const string AppPartOf = "app.kubernetes.io/part-of";
    public const string AppManagedBy = "app.kubernetes.io/managed-by";
}
