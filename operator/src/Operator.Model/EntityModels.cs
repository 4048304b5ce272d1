using System.Globalization;
using Operator.Api;

namespace Operator.Model;

/// <summary>
/// What the topic operator will create for a KafkaTopic: the Kafka topic name, partitions, replication factor
/// (-1 = broker default, as Strimzi's NewTopic) and config as strings. Immutable; thread-safe.
/// </summary>
public sealed record KafkaTopicModel(string Cluster, string TopicName, int Partitions, short ReplicationFactor, IReadOnlyList<KeyValuePair<string, string>> Config)
{
    public static bool TryFrom(KafkaTopic topic, out KafkaTopicModel? model, out IReadOnlyList<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var resource = "KafkaTopic/" + topic.Metadata.Name;
        var list = new List<ValidationError>();
        errors = list;
        model = null;
        if (topic.ClusterLabel is null)
        {
            list.Add(new(resource, "metadata.labels[strimzi.io/cluster]", "is required: it names the Kafka cluster of the topic"));
        }

        if (topic.Spec?.Partitions is < 1)
        {
            list.Add(new(resource, "spec.partitions", "must be at least 1"));
        }

        if (topic.Spec?.Replicas is < 1 or > short.MaxValue)
        {
            list.Add(new(resource, "spec.replicas", "must be between 1 and 32767"));
        }

        if (list.Count > 0)
        {
            return false;
        }

        model = new KafkaTopicModel(
            topic.ClusterLabel!,
            topic.Spec?.TopicName ?? topic.Metadata.Name,
            topic.Spec?.Partitions ?? -1,
            (short)(topic.Spec?.Replicas ?? -1),
            [.. (topic.Spec?.Config ?? []).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => KeyValuePair.Create(c.Key, KafkaClusterModel.Format(c.Value)))]);
        return true;
    }
}

/// <summary>One normalised ACL rule: singular legacy <c>operation</c> folded into operations. Immutable; thread-safe.</summary>
public sealed record AclRuleModel(string Type, string ResourceType, string ResourceName, string PatternType, string Host, IReadOnlyList<string> Operations);

/// <summary>
/// What the user operator will manage for a KafkaUser: principal name (<c>CN=&lt;name&gt;</c> for tls and
/// tls-external), Secret name, normalised ACLs. Immutable; thread-safe.
/// </summary>
public sealed record KafkaUserModel(string Cluster, string UserName, string? Authentication, string? SecretName, IReadOnlyList<AclRuleModel> Acls)
{
    public static bool TryFrom(KafkaUser user, string secretPrefix, out KafkaUserModel? model, out IReadOnlyList<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(user);
        var resource = "KafkaUser/" + user.Metadata.Name;
        var list = new List<ValidationError>();
        errors = list;
        model = null;
        if (user.ClusterLabel is null)
        {
            list.Add(new(resource, "metadata.labels[strimzi.io/cluster]", "is required: it names the Kafka cluster of the user"));
        }

        var acls = new List<AclRuleModel>();
        var rules = user.Spec?.Authorization?.Acls ?? [];
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"spec.authorization.acls[{i}]");
            var operations = rule.Operations ?? (rule.Operation is { } one ? [one] : []);
            if (operations.Count == 0)
            {
                list.Add(new(resource, at + ".operations", "is required"));
            }

            if (rule.Resource?.Type is null)
            {
                list.Add(new(resource, at + ".resource.type", "is required"));
                continue;
            }

            var name = rule.Resource.Type == "cluster" ? "kafka-cluster" : rule.Resource.Name;
            if (name is null)
            {
                list.Add(new(resource, at + ".resource.name", "is required"));
                continue;
            }

            acls.Add(new(rule.Type ?? "allow", rule.Resource.Type, name, rule.Resource.PatternType ?? "literal", rule.Host ?? "*", [.. operations]));
        }

        if (list.Count > 0)
        {
            return false;
        }

        var auth = user.Spec?.Authentication?.Type;
        model = new KafkaUserModel(
            user.ClusterLabel!,
            auth is "tls" or "tls-external" ? "CN=" + user.Metadata.Name : user.Metadata.Name,
            auth,
            auth is "tls" or "scram-sha-512" ? secretPrefix + user.Metadata.Name : null,
            acls);
        return true;
    }
}

/// <summary>Checks a KafkaNodePool on its own, before any Kafka is modelled. Stateless; thread-safe.</summary>
public static class KafkaNodePoolChecks
{
    /// <summary>
    /// The Kafka the pool belongs to (its <c>strimzi.io/cluster</c> label), among the Kafkas of its namespace;
    /// an error naming the label when it is missing or names no existing Kafka.
    /// </summary>
    public static bool TryFindCluster(KafkaNodePool pool, IEnumerable<Kafka> kafkasInNamespace, out Kafka? kafka, out ValidationError? error)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(kafkasInNamespace);
        var resource = "KafkaNodePool/" + pool.Metadata.Name;
        kafka = null;
        error = null;
        if (pool.ClusterLabel is not { } name)
        {
            error = new(resource, "metadata.labels[strimzi.io/cluster]", "is required: it names the Kafka cluster of the pool");
            return false;
        }

        kafka = kafkasInNamespace.FirstOrDefault(k => k.Metadata.Name == name);
        if (kafka is null)
        {
            error = new(resource, "metadata.labels[strimzi.io/cluster]", $"Kafka cluster '{name}' does not exist in namespace {pool.Metadata.NamespaceProperty}");
            return false;
        }

        return true;
    }
}
