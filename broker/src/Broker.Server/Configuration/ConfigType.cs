namespace Broker.Server.Configuration;

/// <summary>How a configuration value is parsed; mirrors the types DescribeConfigs reports.</summary>
public enum ConfigType
{
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,

    /// <summary>Comma-separated; items are trimmed and empty items dropped.</summary>
    List,

    /// <summary>A string that is never logged or described in clear.</summary>
    Password,
}

/// <summary>Where an effective configuration value came from, lowest precedence first.</summary>
public enum ConfigSource
{
    /// <summary>Nobody set it: the key's default (or absent when the default is null).</summary>
    Default,

    /// <summary>The properties file.</summary>
    File,

    /// <summary>A <c>KAFKA_*</c> environment variable.</summary>
    Environment,

    /// <summary>An explicit override, e.g. <c>--override key=value</c> on the command line.</summary>
    Override,
}

/// <summary>
/// One effective configuration entry. <see cref="Value"/> is the raw string as configured (null when the key
/// is unset and has no default). <see cref="IsKnown"/> is false for keys outside the broker's table, which
/// are kept because they may be topic defaults or keys a later version understands.
/// </summary>
public readonly record struct ConfigValue(string Name, string? Value, ConfigSource Source, bool IsSensitive, bool IsKnown);
