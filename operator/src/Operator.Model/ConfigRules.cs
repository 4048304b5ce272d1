namespace Operator.Model;

/// <summary>
/// Which spec.kafka.config keys a user may set. Strimzi's forbidden prefixes and exceptions
/// (<c>KafkaClusterSpec.FORBIDDEN_PREFIXES</c>), plus the keys of this broker's container contract (health and
/// metrics ports, cluster.id) that the operator owns. Strimzi drops forbidden keys silently; this model reports
/// them as errors so a typo'd override never disappears unnoticed. Stateless; thread-safe.
/// </summary>
public static class ConfigRules
{
    public static readonly IReadOnlyList<string> ForbiddenPrefixes =
    [
        "listeners", "advertised.", "broker.", "listener.", "host.name", "port", "inter.broker.listener.name", "sasl.",
        "ssl.", "security.", "password.", "log.dir", "zookeeper.connect", "zookeeper.set.acl", "zookeeper.ssl",
        "zookeeper.clientCnxnSocket", "authorizer.", "super.user", "cruise.control.metrics.topic",
        "cruise.control.metrics.reporter.bootstrap.servers", "node.id", "process.roles", "controller.", "metadata.log.dir",
        "zookeeper.metadata.migration.enable", "client.quota.callback.static.kafka.admin.",
        "client.quota.callback.static.produce", "client.quota.callback.static.fetch",
        "client.quota.callback.static.storage.per.volume.limit.min.available.",
        "client.quota.callback.static.excluded.principal.name.list", "prometheus.metrics.reporter.", "cordoned.log.dirs",
        // This broker's own contract keys (broker/config/server.properties, docs/metrics.md).
        "cluster.id", "health.", "metrics.host", "metrics.port",
    ];

    public static readonly IReadOnlySet<string> Exceptions = new HashSet<string>(StringComparer.Ordinal)
    {
        "zookeeper.connection.timeout.ms", "sasl.server.max.receive.size", "ssl.cipher.suites", "ssl.protocol",
        "ssl.enabled.protocols", "ssl.secure.random.implementation", "cruise.control.metrics.topic.num.partitions",
        "cruise.control.metrics.topic.replication.factor", "cruise.control.metrics.topic.retention.ms",
        "cruise.control.metrics.topic.auto.create.retries", "cruise.control.metrics.topic.auto.create.timeout.ms",
        "cruise.control.metrics.topic.min.insync.replicas", "broker.session.timeout.ms", "broker.heartbeat.interval.ms",
        "controller.socket.timeout.ms", "controller.quorum.election.backoff.max.ms", "controller.quorum.election.timeout.ms",
        "controller.quorum.fetch.timeout.ms",
    };

    /// <summary>Keys allowed under <c>listener.name.&lt;name&gt;-&lt;port&gt;.</c> for a declared listener.</summary>
    public static readonly IReadOnlyList<string> PerListener = ["connections.max.reauth.ms", "max.connections", "max.connection.creation.rate"];

    /// <summary>True when the key may be set by the user, given the declared listeners' config prefixes.</summary>
    public static bool IsAllowed(string key, IEnumerable<string> listenerPrefixes)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(listenerPrefixes);
        if (Exceptions.Contains(key))
        {
            return true;
        }

        foreach (var prefix in listenerPrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && PerListener.Contains(key[prefix.Length..]))
            {
                return true;
            }
        }

        return !ForbiddenPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));
    }
}
