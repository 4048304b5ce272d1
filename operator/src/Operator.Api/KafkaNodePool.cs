using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Operator.Api.Schema;

namespace Operator.Api;

/// <summary>The KafkaNodePool custom resource; bound to its Kafka by the strimzi.io/cluster label. Not thread-safe.</summary>
public sealed class KafkaNodePool : CustomResource<KafkaNodePoolSpec, KafkaNodePoolStatus>
{
    public const string BrokerRole = "broker";
    public const string ControllerRole = "controller";

    public KafkaNodePool() => Kind = "KafkaNodePool";
}

/// <summary>KafkaNodePool.spec. Not thread-safe.</summary>
public sealed class KafkaNodePoolSpec
{
    [RequiredField, Minimum(0), JsonPropertyName("replicas")] public int? Replicas { get; set; }

    [RequiredField, EnumValues(KafkaNodePool.ControllerRole, KafkaNodePool.BrokerRole)]
    [JsonPropertyName("roles")] public List<string>? Roles { get; set; }

    [RequiredField, JsonPropertyName("storage")] public Storage? Storage { get; set; }
    [PreserveUnknownFields, JsonPropertyName("resources")] public JsonObject? Resources { get; set; }
    [JsonPropertyName("jvmOptions")] public JvmOptions? JvmOptions { get; set; }
    [PreserveUnknownFields, JsonPropertyName("template")] public JsonObject? Template { get; set; }
}

/// <summary>KafkaNodePool.status: the node ids given to the pool and the cluster id. Not thread-safe.</summary>
public sealed class KafkaNodePoolStatus : StatusBase
{
    [JsonPropertyName("nodeIds")] public List<int>? NodeIds { get; set; }
    [JsonPropertyName("clusterId")] public string? ClusterId { get; set; }
    [JsonPropertyName("roles")] public List<string>? Roles { get; set; }
    [JsonPropertyName("replicas")] public int? Replicas { get; set; }
    [JsonPropertyName("labelSelector")] public string? LabelSelector { get; set; }
}
