using System.Globalization;

namespace EndToEnd.Tests.Cluster;

/// <summary>
/// The environment of one combined (broker + controller) node of a three-node KRaft cluster in containers, in the
/// broker image's KAFKA_* convention, the same settings examples/docker/compose.yaml gives its nodes: the client and
/// inter-broker listener PLAINTEXT advertised by container name on the cluster's network, CONTROLLER for the Raft
/// quorum, and EXTERNAL advertised as a published 127.0.0.1 port so that clients on the host work too. Replication as
/// Kafka recommends for three nodes (RF 3, min.insync.replicas 2) and a short session so faults are noticed within
/// seconds. Thread-safe (pure).
/// </summary>
internal static class ClusterNodeSettings
{
    /// <summary>Port of the PLAINTEXT listener inside each container.</summary>
    public const int InternalPort = 9092;

    /// <summary>Port of the CONTROLLER listener inside each container.</summary>
    public const int ControllerPort = 9093;

    /// <summary>Port of the EXTERNAL listener inside each container, published on the host.</summary>
    public const int ExternalPort = 9094;

    /// <summary>broker.session.timeout.ms: how long a killed, paused or cut-off node keeps its leaderships (as the fault tests use).</summary>
    public const int SessionTimeoutMs = 4000;

    /// <summary>The node's settings as Kafka configuration keys.</summary>
    public static Dictionary<string, string> For(int node, string clusterId, IReadOnlyList<string> hostNames, int externalHostPort)
    {
        var voters = string.Join(',', hostNames.Select((host, i) => $"{i + 1}@{host}:{ControllerPort}"));
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["node.id"] = node.ToString(CultureInfo.InvariantCulture),
            ["process.roles"] = "broker,controller",
            ["cluster.id"] = clusterId,
            ["controller.quorum.voters"] = voters,
            ["controller.listener.names"] = "CONTROLLER",
            ["listeners"] = $"PLAINTEXT://0.0.0.0:{InternalPort},CONTROLLER://0.0.0.0:{ControllerPort},EXTERNAL://0.0.0.0:{ExternalPort}",
            ["advertised.listeners"] = $"PLAINTEXT://{hostNames[node - 1]}:{InternalPort},EXTERNAL://127.0.0.1:{externalHostPort}",
            ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:PLAINTEXT",
            ["inter.broker.listener.name"] = "PLAINTEXT",
            ["num.partitions"] = "3",
            ["default.replication.factor"] = "3",
            ["min.insync.replicas"] = "2",
            ["offsets.topic.replication.factor"] = "3",
            ["transaction.state.log.replication.factor"] = "3",
            ["transaction.state.log.min.isr"] = "2",
            ["group.initial.rebalance.delay.ms"] = "0",
            ["broker.session.timeout.ms"] = SessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
            ["broker.heartbeat.interval.ms"] = "500",
            ["replica.lag.time.max.ms"] = "5000",
            ["replica.socket.timeout.ms"] = "5000",
            ["replica.fetch.backoff.ms"] = "200",
        };
    }
}
