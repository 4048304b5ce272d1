using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Storage;

namespace Broker.Server.Configuration;

/// <summary>
/// Dynamic broker configs (BROKER ConfigRecords in the metadata log): which keys may change without a restart,
/// how a proposed set is validated, and the topic defaults that result. Kafka's layering applies: this broker's
/// dynamic value, then the cluster-wide dynamic default (resource ""), then the static file / environment value,
/// then the key's default, merged per key before broker synonyms are resolved (so a dynamic log.retention.ms beats
/// a static log.retention.hours). Only the log defaults of topics and the replication throttle rates are dynamic here:
/// those are the ones this broker can honour at once (every partition's config and both throttles are recomputed on the
/// next metadata image). Stateless; thread-safe.
/// </summary>
public static class DynamicBrokerConfig
{
    /// <summary>The broker keys that can be changed dynamically: every broker synonym of a topic-level key, and the
    /// replication throttle rates.</summary>
    public static FrozenSet<string> DynamicKeys { get; } = BuildDynamicKeys();

    public static bool IsDynamic(string brokerKey) => DynamicKeys.Contains(brokerKey);

    /// <summary>
    /// The value of a broker key after the dynamic layers, with its source; null value when unset everywhere.
    /// </summary>
    public static (string? Value, DescribedConfigSource Source) Resolve(
        BrokerConfig config, IReadOnlyDictionary<string, string> clusterDefault, IReadOnlyDictionary<string, string> perBroker, string key)
    {
        if (perBroker.TryGetValue(key, out var own))
        {
            return (own, DescribedConfigSource.DynamicBrokerConfig);
        }

        if (clusterDefault.TryGetValue(key, out var shared))
        {
            return (shared, DescribedConfigSource.DynamicDefaultBrokerConfig);
        }

        if (config.AllValues.TryGetValue(key, out var value))
        {
            return (value.Value, value.Source == ConfigSource.Default ? DescribedConfigSource.DefaultConfig : DescribedConfigSource.StaticBrokerConfig);
        }

        return (null, DescribedConfigSource.Unknown);
    }

    /// <summary>
    /// Topic-level defaults (as topic config strings) after applying the dynamic layers; the static
    /// <see cref="BrokerConfig.TopicDefaults"/> when there are none.
    /// </summary>
    public static IReadOnlyDictionary<string, string> TopicDefaults(
        BrokerConfig config, IReadOnlyDictionary<string, string> clusterDefault, IReadOnlyDictionary<string, string> perBroker)
    {
        if (clusterDefault.Count == 0 && perBroker.Count == 0)
        {
            return config.TopicDefaults();
        }

        var result = new Dictionary<string, string>(config.TopicDefaults(), StringComparer.Ordinal);
        foreach (var (topicKey, synonyms) in TopicConfigSynonyms.All)
        {
            foreach (var synonym in synonyms)
            {
                var (raw, _) = Resolve(config, clusterDefault, perBroker, synonym.Name);
                if (raw is null || !BrokerConfig.Definition.TryGetKey(synonym.Name, out var key) || key.Parse(raw) is not { } parsed)
                {
                    continue;
                }

                result[topicKey] = Scale(topicKey, parsed, synonym.Multiplier);
                break;
            }
        }

        return result;
    }

    /// <summary>The topic defaults in force on node <paramref name="nodeId"/> for a metadata image.</summary>
    public static IReadOnlyDictionary<string, string> TopicDefaults(BrokerConfig config, MetadataImage image, int nodeId) =>
        TopicDefaults(config, image.BrokerConfigsFor(string.Empty), image.BrokerConfigsFor(nodeId.ToString(CultureInfo.InvariantCulture)));

    /// <summary>
    /// Checks the complete dynamic set a BROKER resource would hold. Kafka answers every broker validation failure
    /// with INVALID_REQUEST (KAFKA-13609): read-only keys ("Cannot update these configs dynamically: Set(...)"),
    /// unknown keys and bad values, naming the key. The topic defaults that would result must also be valid.
    /// </summary>
    public static ConfigError? Validate(BrokerConfig config, string resourceName, IReadOnlyDictionary<string, string> configs, MetadataImage image, int nodeId)
    {
        var unknown = new List<string>();
        var readOnly = new List<string>();
        foreach (var (name, _) in configs)
        {
            if (!BrokerConfig.Definition.TryGetKey(name, out _))
            {
                unknown.Add(name);
            }
            else if (!IsDynamic(name))
            {
                readOnly.Add(name);
            }
        }

        if (unknown.Count > 0)
        {
            unknown.Sort(StringComparer.Ordinal);
            return new ConfigError(ErrorCode.InvalidRequest, $"Unknown broker config name: {string.Join(", ", unknown)}");
        }

        if (readOnly.Count > 0)
        {
            readOnly.Sort(StringComparer.Ordinal);
            return new ConfigError(ErrorCode.InvalidRequest, $"Cannot update these configs dynamically: Set({string.Join(", ", readOnly)})");
        }

        try
        {
            foreach (var (name, value) in configs)
            {
                BrokerConfig.Definition.TryGetKey(name, out var key);
                key!.Parse(value);
            }

            var clusterDefault = resourceName.Length == 0 ? configs : image.BrokerConfigsFor(string.Empty);
            var perBroker = resourceName.Length == 0 ? image.BrokerConfigsFor(nodeId.ToString(CultureInfo.InvariantCulture)) : configs;
            LogConfig.From(TopicDefaults(config, clusterDefault, perBroker));
        }
        catch (ConfigException e)
        {
            return new ConfigError(ErrorCode.InvalidRequest, e.Message);
        }
        catch (InvalidLogConfigException e)
        {
            return new ConfigError(ErrorCode.InvalidRequest, $"Invalid broker default for topic config {e.Key}: {e.Message}");
        }

        return null;
    }

    private static string Scale(string topicKey, object parsed, long multiplier)
    {
        object value = parsed switch
        {
            int i when multiplier != 1 => (long)i * multiplier,
            long l when multiplier != 1 => checked(l * multiplier),
            _ => parsed,
        };

        // Any negative retention means "forever", as for the static keys.
        if (topicKey == TopicConfigNames.RetentionMs && Convert.ToInt64(value, CultureInfo.InvariantCulture) < -1)
        {
            value = -1L;
        }

        return BrokerConfig.Format(value);
    }

    private static FrozenSet<string> BuildDynamicKeys()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal) { ConfigNames.LeaderReplicationThrottledRate, ConfigNames.FollowerReplicationThrottledRate };
        foreach (var (_, synonyms) in TopicConfigSynonyms.All)
        {
            foreach (var synonym in synonyms)
            {
                keys.Add(synonym.Name);
            }
        }

        return keys.ToFrozenSet(StringComparer.Ordinal);
    }
}

/// <summary>
/// The server's <see cref="IConfigSchema"/>: topic keys from <see cref="TopicConfigDef"/>, broker keys from
/// <see cref="BrokerConfigDef"/> and <see cref="DynamicBrokerConfig"/>. Thread-safe (immutable).
/// </summary>
internal sealed class ConfigSchema : IConfigSchema
{
    private readonly BrokerConfig _config;

    public ConfigSchema(BrokerConfig config)
    {
        _config = config;
    }

    public bool IsList(sbyte resourceType, string key) => resourceType switch
    {
        MetadataImageBuilder.TopicResource => TopicConfigDef.IsList(key),
        MetadataImageBuilder.BrokerResource => BrokerConfig.Definition.TryGetKey(key, out var definition) && definition.Type == ConfigType.List,
        _ => false,
    };

    public string? DefaultValue(sbyte resourceType, string key, MetadataImage image)
    {
        if (resourceType == MetadataImageBuilder.TopicResource)
        {
            return DynamicBrokerConfig.TopicDefaults(_config, image, _config.NodeId).GetValueOrDefault(key);
        }

        // A broker resource's list starts from what the layers below it hold.
        var empty = ImmutableDictionary<string, string>.Empty;
        return DynamicBrokerConfig.Resolve(_config, empty, empty, key).Value;
    }

    public ConfigError? Validate(sbyte resourceType, string resourceName, IReadOnlyDictionary<string, string> configs, MetadataImage image)
    {
        if (resourceType == MetadataImageBuilder.TopicResource)
        {
            var values = new Dictionary<string, string?>(configs.Count, StringComparer.Ordinal);
            foreach (var (name, value) in configs)
            {
                values[name] = value;
            }

            return TopicConfigDef.Validate(values);
        }

        return DynamicBrokerConfig.Validate(_config, resourceName, configs, image, _config.NodeId);
    }
}

/// <summary>
/// The effective topic defaults and default <see cref="LogConfig"/> of a metadata image, recomputed only when the
/// image's dynamic broker configs change. Thread-safe: the cached entry is an immutable tuple swapped atomically.
/// </summary>
internal sealed class EffectiveTopicDefaults
{
    private readonly BrokerConfig _config;
    private Entry? _last;

    public EffectiveTopicDefaults(BrokerConfig config)
    {
        _config = config;
    }

    private sealed record Entry(
        ImmutableDictionary<string, ImmutableDictionary<string, string>> BrokerConfigs,
        IReadOnlyDictionary<string, string> Defaults);

    /// <summary>Topic-level defaults as strings, in force for <paramref name="image"/>.</summary>
    public IReadOnlyDictionary<string, string> For(MetadataImage image)
    {
        var last = Volatile.Read(ref _last);
        if (last is not null && ReferenceEquals(last.BrokerConfigs, image.BrokerConfigs))
        {
            return last.Defaults;
        }

        var defaults = DynamicBrokerConfig.TopicDefaults(_config, image, _config.NodeId);
        Volatile.Write(ref _last, new Entry(image.BrokerConfigs, defaults));
        return defaults;
    }

    /// <summary>A topic's effective log config: its overrides over the defaults in force.</summary>
    public LogConfig LogConfigFor(MetadataImage image, TopicInfo topic)
    {
        var merged = new Dictionary<string, string>(For(image), StringComparer.Ordinal);
        foreach (var (key, value) in topic.Configs)
        {
            merged[key] = value;
        }

        return LogConfig.From(merged);
    }
}
