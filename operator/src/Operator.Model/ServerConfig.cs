using System.Globalization;
using System.Text;

namespace Operator.Model;

// The per-node broker configuration (server.config in the node's ConfigMap).
public sealed partial class KafkaClusterModel
{
    /// <summary>DNS name of a node through the headless Service: <c>&lt;pod&gt;.&lt;cluster&gt;-kafka-brokers.&lt;ns&gt;.svc</c>.</summary>
    public string NodeHost(NodePoolModel pool, int nodeId) => $"{pool.PodName(Name, nodeId)}.{HeadlessServiceName}.{Namespace}.svc";

    /// <summary>
    /// The node's server.properties, in this order: identity and roles, KRaft quorum, listeners, storage, side
    /// ports, authorization, then spec.kafka.config sorted by key. Kafka's listener naming (<c>PLAIN-9092</c>,
    /// <c>CONTROLPLANE-9090</c>, <c>REPLICATION-9091</c>) and Strimzi's data paths.
    /// </summary>
    public string BuildServerProperties(NodePoolModel pool, int nodeId)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var lines = new List<(string Key, string Value)>
        {
            ("node.id", nodeId.ToString(CultureInfo.InvariantCulture)),
            ("process.roles", pool.ProcessRoles),
            ("cluster.id", ClusterId),
            ("controller.listener.names", BrokerContainer.ControlPlaneListener),
            ("controller.quorum.voters", string.Join(',', Nodes.Where(n => n.Pool.IsController).Select(n =>
                string.Create(CultureInfo.InvariantCulture, $"{n.NodeId}@{NodeHost(n.Pool, n.NodeId)}:{BrokerContainer.ControlPlanePort}")))),
        };

        var listeners = new List<(string Name, int Port, string Protocol, string AdvertisedHost, int AdvertisedPort)>();
        var host = NodeHost(pool, nodeId);
        if (pool.IsController)
        {
            listeners.Add((BrokerContainer.ControlPlaneListener, BrokerContainer.ControlPlanePort, "PLAINTEXT", host, BrokerContainer.ControlPlanePort));
        }

        if (pool.IsBroker)
        {
            listeners.Add((BrokerContainer.ReplicationListener, BrokerContainer.ReplicationPort, "PLAINTEXT", host, BrokerContainer.ReplicationPort));
            foreach (var listener in Listeners)
            {
                var (advertisedHost, advertisedPort) = AdvertisedAddress(listener, pool, nodeId);
                listeners.Add((listener.BrokerListenerName, listener.Port, listener.SecurityProtocol, advertisedHost, advertisedPort));
            }
        }

        lines.Add(("listeners", string.Join(',', listeners.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Name}://0.0.0.0:{l.Port}")))));
        lines.Add(("advertised.listeners", string.Join(',', listeners.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.Name}://{l.AdvertisedHost}:{l.AdvertisedPort}")))));
        var protocols = new List<string> { BrokerContainer.ControlPlaneListener + ":PLAINTEXT", BrokerContainer.ReplicationListener + ":PLAINTEXT" };
        protocols.AddRange(Listeners.Select(l => l.BrokerListenerName + ":" + l.SecurityProtocol));
        lines.Add(("listener.security.protocol.map", string.Join(',', protocols)));
        if (pool.IsBroker)
        {
            lines.Add(("inter.broker.listener.name", BrokerContainer.ReplicationListener));
            foreach (var listener in Listeners)
            {
                if (listener.Authentication == "scram-sha-512")
                {
                    lines.Add((listener.ConfigPrefix + "sasl.enabled.mechanisms", "SCRAM-SHA-512"));
                    lines.Add((listener.ConfigPrefix + "scram-sha-512.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;"));
                }
                else if (listener.Authentication == "tls")
                {
                    lines.Add((listener.ConfigPrefix + "ssl.client.auth", "required"));
                }

                if (listener.Configuration?.MaxConnections is { } max)
                {
                    lines.Add((listener.ConfigPrefix + "max.connections", max.ToString(CultureInfo.InvariantCulture)));
                }

                if (listener.Configuration?.MaxConnectionCreationRate is { } rate)
                {
                    lines.Add((listener.ConfigPrefix + "max.connection.creation.rate", rate.ToString(CultureInfo.InvariantCulture)));
                }
            }
        }

        lines.Add(("log.dirs", string.Join(',', pool.Volumes.Select(v => v.LogDir(nodeId)))));
        lines.Add(("metadata.log.dir", pool.MetadataVolume.LogDir(nodeId)));
        lines.Add(("health.port", BrokerContainer.HealthPort.ToString(CultureInfo.InvariantCulture)));
        lines.Add(("metrics.port", BrokerContainer.MetricsPort.ToString(CultureInfo.InvariantCulture)));
        if (Spec.Authorization?.Type == "simple")
        {
            lines.Add(("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"));
            lines.Add(("super.users", string.Join(';', new[] { "User:ANONYMOUS" }.Concat((Spec.Authorization.SuperUsers ?? []).Select(u => "User:" + u)))));
        }

        var text = new StringBuilder();
        text.Append("# Generated by the operator for ").Append(pool.PodName(Name, nodeId)).Append(" of Kafka ").Append(Namespace).Append('/').Append(Name).Append(": do not edit.\n");
        foreach (var (key, value) in lines)
        {
            AppendProperty(text, key, value);
        }

        text.Append("\n# spec.kafka.config\n");
        foreach (var (key, value) in UserConfig)
        {
            AppendProperty(text, key, value);
        }

        return text.ToString();
    }

    /// <summary>Where clients reach a node through a listener. External addresses come from the CR's
    /// brokers[] overrides, then <see cref="ModelOptions.ExternalAddresses"/>; unknown ones fall back to the node's internal DNS name.</summary>
    private (string Host, int Port) AdvertisedAddress(ListenerModel listener, NodePoolModel pool, int nodeId)
    {
        var over = listener.BrokerOverride(nodeId);
        var port = over?.AdvertisedPort ?? listener.Port;
        if (over?.AdvertisedHost is { } advertised)
        {
            return (advertised, port);
        }

        if (Options.ExternalAddresses.TryGetValue((listener.Name, nodeId), out var known))
        {
            return (known.Host, over?.AdvertisedPort ?? known.Port);
        }

        return listener.Type switch
        {
            ListenerModel.ClusterIp => ($"{listener.PerNodeServiceName(Name, pool.Name, nodeId)}.{Namespace}.svc", port),
            ListenerModel.Ingress => (IngressHost(listener, pool, nodeId), over?.AdvertisedPort ?? 443),
            _ => (NodeHost(pool, nodeId), port),
        };
    }

    private static void AppendProperty(StringBuilder text, string key, string value)
    {
        Escape(text, key, isKey: true);
        text.Append('=');
        Escape(text, value, isKey: false);
        text.Append('\n');
    }

    // java.util.Properties escaping: backslash, line breaks, and in keys the separators.
    private static void Escape(StringBuilder text, string s, bool isKey)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '=' or ':' or ' ' when isKey: text.Append('\\').Append(c); break;
                case '#' or '!' when i == 0: text.Append('\\').Append(c); break;
                case ' ' when i == 0: text.Append("\\ "); break;
                default: text.Append(c); break;
            }
        }
    }
}
