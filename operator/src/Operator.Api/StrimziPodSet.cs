using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;
using Operator.Api.Schema;

namespace Operator.Api;

/// <summary>
/// Strimzi's StrimziPodSet (core.strimzi.io): the pods of one node pool, each a whole Pod definition, which the
/// operator's pod-set controller creates, adopts and deletes so that exactly those pods exist. Pods are never updated in
/// place; the Kafka reconciler restarts an out-of-date pod by deleting it, and the controller creates it again from its
/// current definition. Not thread-safe (a plain DTO).
/// </summary>
[KubernetesEntity(Group = CoreStrimziGroup.Name, ApiVersion = CoreStrimziGroup.StorageVersion, Kind = "StrimziPodSet", PluralName = "strimzipodsets")]
public sealed class StrimziPodSet : CustomResource<StrimziPodSetSpec, StrimziPodSetStatus>
{
    public StrimziPodSet()
    {
        ApiVersion = CoreStrimziGroup.Name + "/" + CoreStrimziGroup.StorageVersion;
        Kind = "StrimziPodSet";
    }
}

/// <summary>StrimziPodSet.spec. Not thread-safe.</summary>
public sealed class StrimziPodSetSpec
{
    /// <summary>Selects the set's pods; only <c>matchLabels</c> is honoured, as in Strimzi.</summary>
    [RequiredField, JsonPropertyName("selector")] public PodSetSelector? Selector { get; set; }

    /// <summary>The pods of the set, each a complete Pod object.</summary>
    [RequiredField, PreserveUnknownFields, JsonPropertyName("pods")] public List<JsonObject>? Pods { get; set; }
}

/// <summary>A label selector (matchLabels and matchExpressions, of which Strimzi honours matchLabels). Not thread-safe.</summary>
public sealed class PodSetSelector
{
    [JsonPropertyName("matchLabels")] public Dictionary<string, string>? MatchLabels { get; set; }
    [PreserveUnknownFields, JsonPropertyName("matchExpressions")] public List<JsonObject>? MatchExpressions { get; set; }
}

/// <summary>StrimziPodSet.status: how many pods the set has, how many are Ready and how many run their current definition.</summary>
public sealed class StrimziPodSetStatus : StatusBase
{
    [JsonPropertyName("pods")] public int? Pods { get; set; }
    [JsonPropertyName("readyPods")] public int? ReadyPods { get; set; }
    [JsonPropertyName("currentPods")] public int? CurrentPods { get; set; }
}

/// <summary>Strimzi's core API group, home of StrimziPodSet. Thread-safe (constants).</summary>
public static class CoreStrimziGroup
{
    public const string Name = "core.strimzi.io";
    public const string StorageVersion = "v1";

    /// <summary>Served versions, storage first (Strimzi serves v1 beside the older v1beta2).</summary>
    public static readonly IReadOnlyList<string> ServedVersions = ["v1", "v1beta2"];
}
