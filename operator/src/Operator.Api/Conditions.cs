using System.Text.Json.Serialization;

namespace Operator.Api;

/// <summary>
/// A status condition as Strimzi writes it: <c>type</c> (Ready, NotReady, Warning, ReconciliationPaused),
/// <c>status</c> ("True"/"False"/"Unknown"), ISO-8601 UTC <c>lastTransitionTime</c>, a CamelCase
/// <c>reason</c> and a <c>message</c>. Not thread-safe (a plain DTO).
/// </summary>
public sealed class Condition
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("status")] public string? Status { get; set; }
    [JsonPropertyName("lastTransitionTime")] public string? LastTransitionTime { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}

/// <summary>Condition type names shared by every kind. Thread-safe (constants).</summary>
public static class ConditionTypes
{
    public const string Ready = "Ready";
    public const string NotReady = "NotReady";
    public const string Warning = "Warning";
    public const string ReconciliationPaused = "ReconciliationPaused";
}

/// <summary>Fields every Strimzi status carries. Not thread-safe (a plain DTO).</summary>
public abstract class StatusBase
{
    [JsonPropertyName("conditions")] public List<Condition>? Conditions { get; set; }
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
}
