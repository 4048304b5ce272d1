using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Configuration;

// Layering of the sources into one set of raw values; the constructor then parses and validates them.
public sealed partial class BrokerConfig
{
    private static BrokerConfig Build(
        string? propertiesText,
        string? propertiesPath,
        IReadOnlyDictionary<string, string> environment,
        IReadOnlyDictionary<string, string> overrides,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(overrides);

        var values = ImmutableSortedDictionary.CreateBuilder<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var key in Definition.Keys)
        {
            values[key.Name] = new ConfigValue(key.Name, key.DefaultValue, ConfigSource.Default, key.IsSensitive, IsKnown: true);
        }

        var fromFile = propertiesText is null ? [] : JavaProperties.Parse(propertiesText);
        var fromEnvironment = EnvironmentConfig.Extract(environment);
        Apply(values, fromFile, ConfigSource.File);
        Apply(values, fromEnvironment, ConfigSource.Environment);
        Apply(values, overrides, ConfigSource.Override);

        foreach (var value in values.Values)
        {
            if (!value.IsKnown)
            {
                ConfigLog.UnknownKey(logger, value.Name, value.Source);
            }
        }

        var config = new BrokerConfig(values.ToImmutable());
        ConfigLog.Loaded(logger, propertiesPath ?? "(none)", fromFile.Count, fromEnvironment.Count, overrides.Count);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            foreach (var value in config._values.Values)
            {
                if (value.Source != ConfigSource.Default)
                {
                    ConfigLog.Value(logger, value.Name, value.IsSensitive ? "[hidden]" : value.Value, value.Source);
                }
            }
        }

        return config;
    }

    private static void Apply(
        ImmutableSortedDictionary<string, ConfigValue>.Builder values,
        IEnumerable<KeyValuePair<string, string>> entries,
        ConfigSource source)
    {
        foreach (var (rawKey, value) in entries)
        {
            var key = rawKey.Trim();
            if (key.Length == 0)
            {
                throw new ConfigException($"A configuration entry from {source} has an empty key (value '{value}').");
            }

            ArgumentNullException.ThrowIfNull(value, key);
            // Kafka treats keys it cannot type as sensitive when describing them; do the same.
            var known = Definition.TryGetKey(key, out var definition);
            values[key] = new ConfigValue(key, value, source, known ? definition!.IsSensitive : true, known);
        }
    }
}

/// <summary>Log messages of configuration loading.</summary>
internal static partial class ConfigLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Unknown configuration {Key} (from {Source}) is kept but not used by the broker")]
    public static partial void UnknownKey(ILogger logger, string key, ConfigSource source);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Configuration loaded from file {Path}: {FileCount} file entries, {EnvironmentCount} from KAFKA_* environment variables, {OverrideCount} overrides")]
    public static partial void Loaded(ILogger logger, string path, int fileCount, int environmentCount, int overrideCount);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Configuration {Key} = {Value} (from {Source})")]
    public static partial void Value(ILogger logger, string key, string? value, ConfigSource source);
}
