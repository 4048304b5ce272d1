using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Operator.Api.Schema;

namespace Operator.Api;

/// <summary>The KafkaTopic custom resource. Not thread-safe.</summary>
public sealed class KafkaTopic : CustomResource<KafkaTopicSpec, KafkaTopicStatus>
{
    public KafkaTopic() => Kind = "KafkaTopic";
}

/// <summary>KafkaTopic.spec. Not thread-safe.</summary>
public sealed class KafkaTopicSpec
{
    [JsonPropertyName("topicName")] public string? TopicName { get; set; }
    [Minimum(1), JsonPropertyName("partitions")] public int? Partitions { get; set; }
    [Minimum(1), Maximum(32767), JsonPropertyName("replicas")] public int? Replicas { get; set; }
    [PreserveUnknownFields, JsonPropertyName("config")] public JsonObject? Config { get; set; }
}

/// <summary>KafkaTopic.status. Not thread-safe.</summary>
public sealed class KafkaTopicStatus : StatusBase
{
    [JsonPropertyName("topicName")] public string? TopicName { get; set; }
    [JsonPropertyName("topicId")] public string? TopicId { get; set; }
    [PreserveUnknownFields, JsonPropertyName("replicasChange")] public JsonObject? ReplicasChange { get; set; }
}
