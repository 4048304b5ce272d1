using System.Collections.Frozen;
using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Storage;

namespace Broker.Server.Configuration;

/// <summary>
/// The topic-level keys this broker accepts (CreateTopics, AlterConfigs, IncrementalAlterConfigs) with their types
/// and range rules: a key with a broker default takes the type and validator of its primary broker synonym
/// (segment.bytes from log.segment.bytes ...), storage keys are also checked by <see cref="LogConfig"/>, and a few
/// keys Kafka accepts without a broker default (replication throttles, tiered storage switches) are stored as given.
/// Immutable; thread-safe.
/// </summary>
public static class TopicConfigDef
{
    private static readonly FrozenDictionary<string, ConfigKey> Keys = BuildKeys();

    /// <summary>True when <paramref name="name"/> is a topic-level config key.</summary>
    public static bool IsKnown(string name) => Keys.ContainsKey(name);

    /// <summary>True when the key is list-typed (cleanup.policy, the throttled replica lists).</summary>
    public static bool IsList(string name) => Keys.TryGetValue(name, out var key) && key.Type == ConfigType.List;

    /// <summary>
    /// Validates topic overrides as Kafka does: an unknown key is refused ("Unknown topic config name: foo"), then each
    /// value is parsed and range-checked; the message names the key. Null values (nothing to set) are skipped.
    /// </summary>
    public static ConfigError? Validate(IReadOnlyDictionary<string, string?> configs)
    {
        ArgumentNullException.ThrowIfNull(configs);
        foreach (var (name, _) in configs)
        {
            if (!Keys.ContainsKey(name))
            {
                return new ConfigError(ErrorCode.InvalidConfig, $"Unknown topic config name: {name}");
            }
        }

        foreach (var (name, value) in configs)
        {
            if (value is null)
            {
                continue;
            }

            try
            {
                Keys[name].Parse(value);
            }
            catch (ConfigException e)
            {
                return new ConfigError(ErrorCode.InvalidConfig, e.Message);
            }
        }

        return LogConfig.Validate(configs) is { } storageError ? new ConfigError(ErrorCode.InvalidConfig, storageError) : null;
    }

    private static FrozenDictionary<string, ConfigKey> BuildKeys()
    {
        var keys = new Dictionary<string, ConfigKey>(StringComparer.Ordinal);
        foreach (var (topicKey, synonyms) in TopicConfigSynonyms.All)
        {
            var broker = BrokerConfig.Definition.TryGetKey(synonyms[0].Name, out var definition)
                ? definition
                : throw new InvalidOperationException($"{synonyms[0].Name} is not a broker key.");
            keys[topicKey] = new ConfigKey(topicKey, broker.Type, null, broker.Validator, broker.Documentation);
        }

        Add(keys, "leader.replication.throttled.replicas", ConfigType.List, "Replicas whose replication is throttled on the leader side (partition:broker pairs, or *).",
            ConfigValidator.ThrottledReplicaList());
        Add(keys, "follower.replication.throttled.replicas", ConfigType.List, "Replicas whose replication is throttled on the follower side (partition:broker pairs, or *).",
            ConfigValidator.ThrottledReplicaList());
        Add(keys, "remote.storage.enable", ConfigType.Boolean, "Tiered storage for this topic (stored; tiered storage is not implemented).");
        Add(keys, "remote.log.copy.disable", ConfigType.Boolean, "Stop copying segments to remote storage (stored only).");
        Add(keys, "remote.log.delete.on.disable", ConfigType.Boolean, "Delete remote data when tiered storage is disabled (stored only).");
        Add(keys, "local.retention.ms", ConfigType.Long, "Local retention when tiered storage is on (stored only).", ConfigValidator.AtLeast(-2));
        Add(keys, "local.retention.bytes", ConfigType.Long, "Local retention size when tiered storage is on (stored only).", ConfigValidator.AtLeast(-2));
        return keys.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static void Add(Dictionary<string, ConfigKey> keys, string name, ConfigType type, string documentation, ConfigValidator? validator = null) =>
        keys[name] = new ConfigKey(name, type, null, validator, documentation);
}
