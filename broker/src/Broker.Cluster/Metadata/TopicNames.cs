namespace Broker.Cluster.Metadata;

/// <summary>Kafka's topic name rules (org.apache.kafka.common.internals.Topic). Stateless; thread-safe.</summary>
public static class TopicNames
{
    public const int MaxLength = 249;

    /// <summary>Returns null when <paramref name="name"/> is a legal topic name, else the reason.</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Topic name is illegal, it can't be empty";
        }

        if (name is "." or "..")
        {
            return "Topic name cannot be \".\" or \"..\"";
        }

        if (name.Length > MaxLength)
        {
            return $"Topic name is illegal, it can't be longer than {MaxLength} characters, topic name: {name}";
        }

        foreach (var c in name)
        {
            var legal = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-';
            if (!legal)
            {
                return $"Topic name {name} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
            }
        }

        return null;
    }

    /// <summary>Kafka's internal topics: writable only by the broker itself (client id __admin_client).</summary>
    public static bool IsInternal(string name) => name is "__consumer_offsets" or "__transaction_state";

    /// <summary>'.' and '_' collide in metric names, so Kafka refuses topics that differ only by them.</summary>
    public static bool Collides(string a, string b) =>
        a.Length == b.Length && string.Equals(a.Replace('.', '_'), b.Replace('.', '_'), StringComparison.Ordinal);
}
