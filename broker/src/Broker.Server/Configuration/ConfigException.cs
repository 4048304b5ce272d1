namespace Broker.Server.Configuration;

/// <summary>
/// A broker configuration is unusable: a value does not parse or validate, keys contradict each other,
/// or the properties file cannot be read. The message names the key and the offending value.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException()
    {
    }

    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The key the error is about, when there is a single one.</summary>
    public string? Key { get; init; }

    internal static ConfigException InvalidValue(string key, string? value, string reason) =>
        new($"Invalid value '{value}' for configuration {key}: {reason}") { Key = key };
}
