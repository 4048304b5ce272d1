using System.Globalization;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.FaultTests.Infrastructure;

/// <summary>
/// server.properties of one node of a <see cref="ProcessCluster"/>: the test broker defaults, the node's roles, Kafka's
/// replicated-cluster settings (RF 3, min.insync.replicas 2) and timeouts short enough that a lost broker is noticed
/// within seconds. Thread-safe (pure).
/// </summary>
internal static class FaultSettings
{
    /// <summary>broker.session.timeout.ms: how long a SIGKILLed or SIGSTOPped broker keeps its leaderships.</summary>
    public const int SessionTimeoutMs = 4000;

    /// <param name="clientPort">The PLAINTEXT port; 0 for a controller-only node.</param>
    /// <param name="controllerPort">The CONTROLLER port; 0 for a broker-only node.</param>
    /// <param name="voters">controller.quorum.voters (every controller-role node).</param>
    public static Dictionary<string, string> For(int node, string clusterId, int clientPort, int controllerPort, string voters, string logDir)
    {
        var settings = BrokerFixture.DefaultSettings(logDir);
        settings["node.id"] = node.ToString(CultureInfo.InvariantCulture);
        settings["cluster.id"] = clusterId;
        settings["controller.quorum.voters"] = voters;
        settings["controller.listener.names"] = "CONTROLLER";
        settings["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
        var listeners = new List<string>();
        if (clientPort > 0)
        {
            listeners.Add($"PLAINTEXT://127.0.0.1:{clientPort}");
            settings["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{clientPort}";
            settings["inter.broker.listener.name"] = "PLAINTEXT";
        }
        else
        {
            settings.Remove("advertised.listeners");
        }

        if (controllerPort > 0)
        {
            listeners.Add($"CONTROLLER://127.0.0.1:{controllerPort}");
        }

        settings["listeners"] = string.Join(',', listeners);
        settings["process.roles"] = (clientPort > 0, controllerPort > 0) switch
        {
            (true, true) => "broker,controller",
            (true, false) => "broker",
            _ => "controller",
        };

        settings["num.partitions"] = "3";
        settings["default.replication.factor"] = "3";
        settings["min.insync.replicas"] = "2";
        settings["offsets.topic.replication.factor"] = "3";
        settings["offsets.topic.num.partitions"] = "3";
        settings["transaction.state.log.replication.factor"] = "3";
        settings["transaction.state.log.min.isr"] = "2";
        settings["transaction.state.log.num.partitions"] = "3";

        // Heartbeats every 500 ms keep a live node's session on a loaded machine; a lost one is fenced after 4 s.
        settings["broker.session.timeout.ms"] = SessionTimeoutMs.ToString(CultureInfo.InvariantCulture);
        settings["broker.heartbeat.interval.ms"] = "500";
        // A follower that stops fetching leaves the ISR after 5 s; a frozen leader's fetchers give up after 5 s.
        settings["replica.lag.time.max.ms"] = "5000";
        settings["replica.socket.timeout.ms"] = "5000";
        settings["replica.fetch.backoff.ms"] = "200";
        return settings;
    }
}
