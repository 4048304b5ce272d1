using System.Globalization;

namespace Broker.Server.Configuration;

/// <summary>
/// A check applied to a parsed (non-null) value; <see cref="Validate"/> returns null when the value is
/// acceptable, otherwise the reason. Immutable; thread-safe.
/// </summary>
public sealed class ConfigValidator
{
    private readonly Func<object, string?> _check;

    private ConfigValidator(string description, Func<object, string?> check)
    {
        Description = description;
        _check = check;
    }

    /// <summary>The accepted values, for documentation (e.g. <c>[1,...]</c>).</summary>
    public string Description { get; }

    public string? Validate(object value) => _check(value);

    public static ConfigValidator AtLeast(long min) =>
        new($"[{min},...]", v => ToLong(v) >= min ? null : $"must be at least {min}");

    public static ConfigValidator Between(long min, long max) =>
        new($"[{min},...,{max}]", v => ToLong(v) is var x && x >= min && x <= max ? null : $"must be between {min} and {max}");

    public static ConfigValidator BetweenDouble(double min, double max) =>
        new(string.Create(CultureInfo.InvariantCulture, $"[{min},...,{max}]"),
            v => v is double d && d >= min && d <= max ? null : string.Create(CultureInfo.InvariantCulture, $"must be between {min} and {max}"));

    /// <summary>A string that must be one of <paramref name="allowed"/> (case-sensitive, as in Kafka).</summary>
    public static ConfigValidator OneOf(params string[] allowed) =>
        new($"[{string.Join(", ", allowed)}]",
            v => Array.IndexOf(allowed, (string)v) >= 0 ? null : $"must be one of {string.Join(", ", allowed)}");

    /// <summary>A list whose items must each be one of <paramref name="allowed"/>, without duplicates.</summary>
    public static ConfigValidator ListOf(bool allowEmpty, params string[] allowed) =>
        new($"[{string.Join(", ", allowed)}]", v =>
        {
            var items = (IReadOnlyList<string>)v;
            if (items.Count == 0 && !allowEmpty)
            {
                return "must not be empty";
            }

            for (var i = 0; i < items.Count; i++)
            {
                if (Array.IndexOf(allowed, items[i]) < 0)
                {
                    return $"'{items[i]}' is not one of {string.Join(", ", allowed)}";
                }

                for (var j = 0; j < i; j++)
                {
                    if (items[j] == items[i])
                    {
                        return $"'{items[i]}' is listed twice";
                    }
                }
            }

            return null;
        });

    /// <summary>A list with at least one item.</summary>
    public static ConfigValidator NonEmptyList() =>
        new("non-empty list", v => ((IReadOnlyList<string>)v).Count > 0 ? null : "must not be empty");

    /// <summary>Kafka's ThrottledReplicaListValidator: <c>*</c>, or <c>partitionId:brokerId</c> pairs.</summary>
    public static ConfigValidator ThrottledReplicaList() =>
        new("[partitionId]:[brokerId],[partitionId]:[brokerId],...", v =>
        {
            var items = (IReadOnlyList<string>)v;
            return items is ["*"] || items.All(item => Broker.Cluster.Replication.ReplicationQuota.TryParseReplica(item, out _, out _)) ? null
                : "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...";
        });

    private static long ToLong(object value) => value switch
    {
        int i => i,
        short s => s,
        long l => l,
        _ => throw new InvalidOperationException($"Range validator applied to a {value.GetType().Name}."),
    };
}
