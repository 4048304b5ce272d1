using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Operator.Api.Schema;

namespace Operator.Api;

/// <summary>The KafkaUser custom resource. Not thread-safe.</summary>
public sealed class KafkaUser : CustomResource<KafkaUserSpec, KafkaUserStatus>
{
    public KafkaUser() => Kind = "KafkaUser";
}

/// <summary>KafkaUser.spec. Not thread-safe.</summary>
public sealed class KafkaUserSpec
{
    [JsonPropertyName("authentication")] public KafkaUserAuthentication? Authentication { get; set; }
    [JsonPropertyName("authorization")] public KafkaUserAuthorization? Authorization { get; set; }
    [JsonPropertyName("quotas")] public KafkaUserQuotas? Quotas { get; set; }
    [PreserveUnknownFields, JsonPropertyName("template")] public JsonObject? Template { get; set; }

    [Doc("Legacy (the seed's manifest puts them beside authorization): the user's ACL rules when authorization.acls is absent.")]
    [JsonPropertyName("acls")] public List<AclRule>? Acls { get; set; }

    /// <summary>The ACL rules in force: authorization.acls, else the legacy spec.acls.</summary>
    [JsonIgnore] public IReadOnlyList<AclRule> EffectiveAcls => Authorization?.Acls ?? Acls ?? [];
}

/// <summary>KafkaUser.spec.authentication. Not thread-safe.</summary>
[CelRule("self.type == 'tls' || (!has(self.validityDays) && !has(self.renewalDays))", "validityDays and renewalDays apply only to tls authentication")]
[CelRule("self.type != 'tls' || (has(self.renewalDays) == has(self.validityDays))", "validityDays and renewalDays must be set together")]
public sealed class KafkaUserAuthentication
{
    [RequiredField, EnumValues("tls", "tls-external", "scram-sha-512"), JsonPropertyName("type")] public string? Type { get; set; }
    [PreserveUnknownFields, JsonPropertyName("password")] public JsonObject? Password { get; set; }
    [Minimum(1), JsonPropertyName("validityDays")] public int? ValidityDays { get; set; }
    [Minimum(1), JsonPropertyName("renewalDays")] public int? RenewalDays { get; set; }
}

/// <summary>KafkaUser.spec.authorization. Not thread-safe.</summary>
public sealed class KafkaUserAuthorization
{
    [RequiredField, EnumValues("simple"), JsonPropertyName("type")] public string? Type { get; set; }

    // Not required in the schema: the seed's user manifest puts its acls beside authorization.
    [JsonPropertyName("acls")] public List<AclRule>? Acls { get; set; }
}

/// <summary>One ACL rule of a KafkaUser. Not thread-safe.</summary>
public sealed class AclRule
{
    [EnumValues("allow", "deny"), JsonPropertyName("type")] public string? Type { get; set; }
    [RequiredField, JsonPropertyName("resource")] public AclResource? Resource { get; set; }
    [JsonPropertyName("host")] public string? Host { get; set; }

    [EnumValues("Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All")]
    [JsonPropertyName("operations")] public List<string>? Operations { get; set; }

    [EnumValues("Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All")]
    [Doc("Legacy (v1beta2 and older): one operation; replaced by operations.")]
    [JsonPropertyName("operation")] public string? Operation { get; set; }
}

/// <summary>The resource an ACL rule applies to. Not thread-safe.</summary>
public sealed class AclResource
{
    [RequiredField, EnumValues("topic", "group", "cluster", "transactionalId"), JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [EnumValues("literal", "prefix"), JsonPropertyName("patternType")] public string? PatternType { get; set; }
}

/// <summary>KafkaUser.spec.quotas. Not thread-safe.</summary>
public sealed class KafkaUserQuotas
{
    [Minimum(0), JsonPropertyName("producerByteRate")] public int? ProducerByteRate { get; set; }
    [Minimum(0), JsonPropertyName("consumerByteRate")] public int? ConsumerByteRate { get; set; }
    [Minimum(0), Maximum(100), JsonPropertyName("requestPercentage")] public int? RequestPercentage { get; set; }
    [Minimum(0), JsonPropertyName("controllerMutationRate")] public double? ControllerMutationRate { get; set; }
}

/// <summary>KafkaUser.status. Not thread-safe.</summary>
public sealed class KafkaUserStatus : StatusBase
{
    [JsonPropertyName("username")] public string? Username { get; set; }
    [JsonPropertyName("secret")] public string? Secret { get; set; }
}
