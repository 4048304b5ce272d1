using System.Globalization;

namespace Broker.Server.Configuration;

/// <summary>
/// One configuration key: its name, type, default (as the string a user would write; null = no default),
/// optional validator and documentation. Immutable; thread-safe.
/// </summary>
public sealed class ConfigKey
{
    public ConfigKey(string name, ConfigType type, string? defaultValue, ConfigValidator? validator, string documentation)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(documentation);
        Name = name;
        Type = type;
        DefaultValue = defaultValue;
        Validator = validator;
        Documentation = documentation;
    }

    public string Name { get; }

    public ConfigType Type { get; }

    public string? DefaultValue { get; }

    public ConfigValidator? Validator { get; }

    public string Documentation { get; }

    public bool IsSensitive => Type == ConfigType.Password;

    /// <summary>
    /// Parses and validates <paramref name="raw"/> into the key's CLR type: bool, string, int, short, long,
    /// double or <see cref="IReadOnlyList{T}"/> of string. Null stays null (unset without default).
    /// </summary>
    /// <exception cref="ConfigException">The value does not parse or fails validation.</exception>
    public object? Parse(string? raw)
    {
        if (raw is null)
        {
            return null;
        }

        var trimmed = raw.Trim();
        object value = Type switch
        {
            ConfigType.Boolean => ParseBoolean(trimmed),
            ConfigType.String or ConfigType.Password => trimmed,
            ConfigType.Int => (int)ParseInteger(trimmed, int.MinValue, int.MaxValue, "int"),
            ConfigType.Short => (short)ParseInteger(trimmed, short.MinValue, short.MaxValue, "short"),
            ConfigType.Long => ParseInteger(trimmed, long.MinValue, long.MaxValue, "long"),
            ConfigType.Double => ParseDouble(trimmed),
            ConfigType.List => SplitList(trimmed),
            _ => throw new InvalidOperationException($"Unhandled config type {Type}."),
        };

        var reason = Validator?.Validate(value);
        if (reason is not null)
        {
            throw ConfigException.InvalidValue(Name, DisplayValue(raw), reason);
        }

        return value;
    }

    /// <summary>Splits a comma-separated list, trimming items and dropping empty ones.</summary>
    public static IReadOnlyList<string> SplitList(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The value as it may appear in logs and error messages.</summary>
    internal string? DisplayValue(string? raw) => IsSensitive && raw is not null ? "[hidden]" : raw;

    private bool ParseBoolean(string value)
    {
        if (value.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (value.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        throw ConfigException.InvalidValue(Name, value, "expected true or false");
    }

    private long ParseInteger(string value, long min, long max, string typeName)
    {
        if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            var reason = IsIntegerSyntax(value) ? $"out of range for type {typeName}" : "not a number";
            throw ConfigException.InvalidValue(Name, value, reason);
        }

        if (parsed < min || parsed > max)
        {
            throw ConfigException.InvalidValue(Name, value, $"out of range for type {typeName}");
        }

        return parsed;
    }

    private double ParseDouble(string value)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) || !double.IsFinite(parsed))
        {
            throw ConfigException.InvalidValue(Name, value, "not a number");
        }

        return parsed;
    }

    private static bool IsIntegerSyntax(string value)
    {
        var digits = value.AsSpan();
        if (digits.Length > 0 && (digits[0] == '-' || digits[0] == '+'))
        {
            digits = digits[1..];
        }

        return digits.Length > 0 && !digits.ContainsAnyExceptInRange('0', '9');
    }
}
