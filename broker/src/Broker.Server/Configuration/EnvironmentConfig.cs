using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Broker.Server.Configuration;

/// <summary>
/// Maps environment variables to configuration keys the way the Apache Kafka container image does:
/// <c>KAFKA_</c> prefix, then the key upper-cased with <c>.</c> written as <c>_</c>, <c>_</c> as <c>__</c>
/// and <c>-</c> as <c>___</c> (so <c>KAFKA_LOG_DIRS</c> is <c>log.dirs</c>). Variables the Kafka scripts use
/// for the JVM and logging are not configuration and are skipped. Stateless; thread-safe.
/// </summary>
public static class EnvironmentConfig
{
    public const string Prefix = "KAFKA_";

    private static readonly HashSet<string> NotConfiguration = new(StringComparer.Ordinal)
    {
        "KAFKA_HOME", "KAFKA_VERSION", "KAFKA_DEBUG", "KAFKA_OPTS", "KAFKA_HEAP_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS",
        "KAFKA_GC_LOG_OPTS", "KAFKA_JMX_OPTS", "KAFKA_JMX_PORT", "KAFKA_JMX_HOSTNAME", "KAFKA_LOG4J_OPTS",
        "KAFKA_LOG4J_LOGGERS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    };

    /// <summary>The configuration entries carried by <paramref name="environment"/>, sorted by variable name.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Extract(IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var result = new List<KeyValuePair<string, string>>();
        foreach (var variable in environment.Keys.Order(StringComparer.Ordinal))
        {
            if (TryMapVariable(variable, out var key))
            {
                result.Add(new(key, environment[variable]));
            }
        }

        return result;
    }

    /// <summary>Maps one variable name to a key; false when it is not a configuration variable.</summary>
    public static bool TryMapVariable(string variable, [NotNullWhen(true)] out string? key)
    {
        ArgumentNullException.ThrowIfNull(variable);
        key = null;
        if (!variable.StartsWith(Prefix, StringComparison.Ordinal) || variable.Length == Prefix.Length || NotConfiguration.Contains(variable))
        {
            return false;
        }

        var sb = new StringBuilder(variable.Length - Prefix.Length);
        var i = Prefix.Length;
        while (i < variable.Length)
        {
            if (variable[i] != '_')
            {
                sb.Append(char.ToLowerInvariant(variable[i]));
                i++;
                continue;
            }

            // A run of underscores reads left to right as "___" -> '-', then "__" -> '_', then "_" -> '.'.
            var run = 0;
            while (i < variable.Length && variable[i] == '_')
            {
                run++;
                i++;
            }

            sb.Append('-', run / 3);
            sb.Append((run % 3) switch { 2 => "_", 1 => ".", _ => string.Empty });
        }

        key = sb.ToString();
        return true;
    }

    /// <summary>The inverse mapping, for documentation and tests: <c>log.dirs</c> becomes <c>KAFKA_LOG_DIRS</c>.</summary>
    public static string ToVariableName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var sb = new StringBuilder(Prefix, Prefix.Length + (key.Length * 2));
        foreach (var c in key)
        {
            switch (c)
            {
                case '.': sb.Append('_'); break;
                case '_': sb.Append("__"); break;
                case '-': sb.Append("___"); break;
                default: sb.Append(char.ToUpperInvariant(c)); break;
            }
        }

        return sb.ToString();
    }
}
