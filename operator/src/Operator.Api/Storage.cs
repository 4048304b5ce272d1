using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Operator.Api.Schema;

namespace Operator.Api;

/// <summary>
/// Storage of a node pool (or, legacy, of spec.kafka): <c>ephemeral</c>, <c>persistent-claim</c> or
/// <c>jbod</c> with <c>volumes</c>. One flat type as in Strimzi's schema, where the union shares one
/// object shape. Not thread-safe.
/// </summary>
public sealed class Storage
{
    public const string Ephemeral = "ephemeral";
    public const string PersistentClaim = "persistent-claim";
    public const string Jbod = "jbod";

    [RequiredField, EnumValues(Ephemeral, PersistentClaim, Jbod), JsonPropertyName("type")] public string? Type { get; set; }
    [Minimum(0), Doc("Volume id, only inside jbod."), JsonPropertyName("id")] public int? Id { get; set; }
    [JsonPropertyName("size")] public string? Size { get; set; }
    [JsonPropertyName("sizeLimit")] public string? SizeLimit { get; set; }
    [JsonPropertyName("class")] public string? Class { get; set; }
    [JsonPropertyName("selector")] public Dictionary<string, string>? Selector { get; set; }
    [JsonPropertyName("deleteClaim")] public bool? DeleteClaim { get; set; }
    [JsonPropertyName("volumeAttributesClass")] public string? VolumeAttributesClass { get; set; }
    [EnumValues("shared"), JsonPropertyName("kraftMetadata")] public string? KraftMetadata { get; set; }
    [JsonPropertyName("volumes")] public List<Storage>? Volumes { get; set; }
    [PreserveUnknownFields, Doc("Legacy (v1beta2)."), JsonPropertyName("overrides")] public List<JsonObject>? Overrides { get; set; }
}
