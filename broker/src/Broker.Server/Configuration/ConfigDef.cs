using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Broker.Server.Configuration;

/// <summary>
/// An ordered table of configuration keys, the single place that says which keys exist, their types,
/// defaults and validation; documentation and DescribeConfigs enumerate it. Immutable; thread-safe.
/// </summary>
public sealed class ConfigDef
{
    private readonly FrozenDictionary<string, ConfigKey> _byName;

    /// <exception cref="ArgumentException">A name is defined twice or a default does not pass its own validation.</exception>
    public ConfigDef(IEnumerable<ConfigKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ordered = new List<ConfigKey>();
        var byName = new Dictionary<string, ConfigKey>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!byName.TryAdd(key.Name, key))
            {
                throw new ArgumentException($"Configuration key {key.Name} is defined twice.", nameof(keys));
            }

            try
            {
                key.Parse(key.DefaultValue);
            }
            catch (ConfigException e)
            {
                throw new ArgumentException($"The default of {key.Name} is invalid: {e.Message}", nameof(keys), e);
            }

            ordered.Add(key);
        }

        Keys = ordered.AsReadOnly();
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>All keys in definition order.</summary>
    public IReadOnlyList<ConfigKey> Keys { get; }

    /// <exception cref="KeyNotFoundException">No such key.</exception>
    public ConfigKey this[string name] =>
        _byName.TryGetValue(name, out var key) ? key : throw new KeyNotFoundException($"Unknown configuration key {name}.");

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGetKey(string name, [NotNullWhen(true)] out ConfigKey? key) => _byName.TryGetValue(name, out key);
}
