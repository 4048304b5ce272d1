using System.Globalization;

namespace Broker.Server.Configuration;

/// <summary>Kafka's ConfigSource ids as DescribeConfigs reports them.</summary>
public enum DescribedConfigSource : sbyte
{
    Unknown = 0,
    DynamicTopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
}

/// <summary>One synonym: a key and value that could supply a config, with its source.</summary>
public sealed record ConfigSynonym(string Name, string? Value, DescribedConfigSource Source);

/// <summary>One described config entry; <see cref="KafkaType"/> is Kafka's ConfigType id (BOOLEAN 1 ... PASSWORD 9).</summary>
public sealed record DescribedConfig(
    string Name,
    string? Value,
    DescribedConfigSource Source,
    bool ReadOnly,
    bool IsSensitive,
    sbyte KafkaType,
    string? Documentation,
    IReadOnlyList<ConfigSynonym> Synonyms);

/// <summary>
/// Builds DescribeConfigs answers from the broker's configuration and a topic's overrides, following Kafka's
/// precedence: topic override (DYNAMIC_TOPIC_CONFIG), then dynamic broker configs from the metadata log
/// (DYNAMIC_BROKER_CONFIG for this node, DYNAMIC_DEFAULT_BROKER_CONFIG cluster-wide), then the first broker synonym
/// set in the properties file, environment or overrides (STATIC_BROKER_CONFIG), then the default (DEFAULT_CONFIG). Synonyms list the
/// same chain, highest precedence first. Stateless; thread-safe.
/// </summary>
public static class ConfigDescriber
{
    /// <summary>Every topic-level config of a topic with the static broker configuration only.</summary>
    public static IReadOnlyList<DescribedConfig> DescribeTopic(BrokerConfig config, IReadOnlyDictionary<string, string> overrides) =>
        DescribeTopic(config, Empty, Empty, overrides);

    /// <summary>
    /// Every topic-level config of a topic: the keys with broker defaults plus any other override. Synonyms follow
    /// Kafka's order: the topic override, then this broker's dynamic values, the cluster-wide dynamic defaults, the
    /// static values, and the default.
    /// </summary>
    public static IReadOnlyList<DescribedConfig> DescribeTopic(
        BrokerConfig config,
        IReadOnlyDictionary<string, string> clusterDefault,
        IReadOnlyDictionary<string, string> perBroker,
        IReadOnlyDictionary<string, string> overrides)
    {
        var defaults = DynamicBrokerConfig.TopicDefaults(config, clusterDefault, perBroker);
        var result = new List<DescribedConfig>();
        foreach (var (topicKey, synonyms) in TopicConfigSynonyms.All)
        {
            var chain = new List<ConfigSynonym>();
            if (overrides.TryGetValue(topicKey, out var overridden))
            {
                chain.Add(new ConfigSynonym(topicKey, overridden, DescribedConfigSource.DynamicTopicConfig));
            }

            AddDynamic(chain, synonyms, perBroker, DescribedConfigSource.DynamicBrokerConfig);
            AddDynamic(chain, synonyms, clusterDefault, DescribedConfigSource.DynamicDefaultBrokerConfig);
            foreach (var synonym in synonyms)
            {
                if (config.AllValues.TryGetValue(synonym.Name, out var value) && value.Source != ConfigSource.Default && value.Value is not null)
                {
                    chain.Add(new ConfigSynonym(synonym.Name, value.Value, DescribedConfigSource.StaticBrokerConfig));
                }
            }

            var primary = synonyms[0];
            var key = BrokerConfig.Definition.TryGetKey(primary.Name, out var definition) ? definition : null;
            defaults.TryGetValue(topicKey, out var effectiveDefault);
            var staticDefault = config.TopicDefaults().GetValueOrDefault(topicKey);
            chain.Add(new ConfigSynonym(primary.Name, key?.DefaultValue is { } raw ? Scale(raw, primary.Multiplier) : staticDefault, DescribedConfigSource.DefaultConfig));

            var source = overridden is not null
                ? DescribedConfigSource.DynamicTopicConfig
                : chain[0].Source;
            var effective = overridden ?? effectiveDefault;
            result.Add(new DescribedConfig(topicKey, effective, source, ReadOnly: false, IsSensitive: false,
                KafkaTypeOf(key?.Type ?? ConfigType.String), key?.Documentation, chain));
        }

        foreach (var (name, value) in overrides)
        {
            if (TopicConfigSynonyms.For(name).Count == 0)
            {
                result.Add(new DescribedConfig(name, value, DescribedConfigSource.DynamicTopicConfig, false, false, KafkaTypeOf(ConfigType.String), null,
                    [new ConfigSynonym(name, value, DescribedConfigSource.DynamicTopicConfig)]));
            }
        }

        return result;
    }

    /// <summary>Every configuration of this broker with the static configuration only.</summary>
    public static IReadOnlyList<DescribedConfig> DescribeBroker(BrokerConfig config) => DescribeBroker(config, Empty, Empty);

    /// <summary>
    /// Every configuration of this broker: this broker's dynamic value (DYNAMIC_BROKER_CONFIG), else the cluster-wide
    /// dynamic default (DYNAMIC_DEFAULT_BROKER_CONFIG), else the static or default value. Keys that cannot change
    /// dynamically are read-only; sensitive values are hidden (null), as Kafka hides them.
    /// </summary>
    public static IReadOnlyList<DescribedConfig> DescribeBroker(
        BrokerConfig config, IReadOnlyDictionary<string, string> clusterDefault, IReadOnlyDictionary<string, string> perBroker)
    {
        var result = new List<DescribedConfig>();
        foreach (var (name, value) in config.AllValues)
        {
            var key = BrokerConfig.Definition.TryGetKey(name, out var definition) ? definition : null;
            var chain = new List<ConfigSynonym>();
            if (perBroker.TryGetValue(name, out var own))
            {
                chain.Add(new ConfigSynonym(name, own, DescribedConfigSource.DynamicBrokerConfig));
            }

            if (clusterDefault.TryGetValue(name, out var shared))
            {
                chain.Add(new ConfigSynonym(name, shared, DescribedConfigSource.DynamicDefaultBrokerConfig));
            }

            var shown = value.IsSensitive ? null : value.Value;
            if (value.Source != ConfigSource.Default)
            {
                chain.Add(new ConfigSynonym(name, shown, DescribedConfigSource.StaticBrokerConfig));
            }

            if (key?.DefaultValue is { } defaultValue)
            {
                chain.Add(new ConfigSynonym(name, value.IsSensitive ? null : defaultValue, DescribedConfigSource.DefaultConfig));
            }

            var staticSource = value.Source == ConfigSource.Default ? DescribedConfigSource.DefaultConfig : DescribedConfigSource.StaticBrokerConfig;
            var (effective, source) = own is not null ? (own, DescribedConfigSource.DynamicBrokerConfig)
                : shared is not null ? (shared, DescribedConfigSource.DynamicDefaultBrokerConfig)
                : (shown, staticSource);
            result.Add(new DescribedConfig(name, effective, source, ReadOnly: !DynamicBrokerConfig.IsDynamic(name), value.IsSensitive,
                KafkaTypeOf(key?.Type ?? (value.IsSensitive ? ConfigType.Password : ConfigType.String)), key?.Documentation, chain));
        }

        result.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    /// <summary>The cluster-wide dynamic defaults (BROKER resource ""): only the keys set there, as Kafka lists them.</summary>
    public static IReadOnlyList<DescribedConfig> DescribeClusterDefaults(BrokerConfig config, IReadOnlyDictionary<string, string> clusterDefault)
    {
        var result = new List<DescribedConfig>();
        foreach (var (name, value) in clusterDefault)
        {
            var key = BrokerConfig.Definition.TryGetKey(name, out var definition) ? definition : null;
            var chain = new List<ConfigSynonym> { new(name, value, DescribedConfigSource.DynamicDefaultBrokerConfig) };
            if (key?.DefaultValue is { } defaultValue)
            {
                chain.Add(new ConfigSynonym(name, defaultValue, DescribedConfigSource.DefaultConfig));
            }

            result.Add(new DescribedConfig(name, value, DescribedConfigSource.DynamicDefaultBrokerConfig, ReadOnly: false, IsSensitive: false,
                KafkaTypeOf(key?.Type ?? ConfigType.String), key?.Documentation, chain));
        }

        result.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    private static void AddDynamic(List<ConfigSynonym> chain, IReadOnlyList<BrokerSynonym> synonyms, IReadOnlyDictionary<string, string> layer, DescribedConfigSource source)
    {
        foreach (var synonym in synonyms)
        {
            if (layer.TryGetValue(synonym.Name, out var value))
            {
                chain.Add(new ConfigSynonym(synonym.Name, value, source));
            }
        }
    }

    private static string Scale(string raw, long multiplier) =>
        multiplier == 1 || !long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? raw
            : (number * multiplier).ToString(CultureInfo.InvariantCulture);

    // Kafka's ConfigEntry.ConfigType ids.
    private static sbyte KafkaTypeOf(ConfigType type) => type switch
    {
        ConfigType.Boolean => 1,
        ConfigType.String => 2,
        ConfigType.Int => 3,
        ConfigType.Short => 4,
        ConfigType.Long => 5,
        ConfigType.Double => 6,
        ConfigType.List => 7,
        ConfigType.Password => 9,
        _ => 0,
    };
}
