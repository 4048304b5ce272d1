using System.Globalization;
using Broker.Server.Configuration;

namespace EndToEnd.Tests.Cluster;

/// <summary>
/// The environment a test gives a node of examples/docker/compose.yaml: the example's own, with the EXTERNAL listener
/// advertised at the host port the test publishes instead of the example's fixed one, and the fault tests' timeouts,
/// short enough that a killed, paused or cut-off node is noticed within seconds. Thread-safe (pure).
/// </summary>
internal static class ClusterNodeSettings
{
    /// <summary>broker.session.timeout.ms: how long a lost node keeps its leaderships (as tests/Broker.FaultTests uses).</summary>
    public const int SessionTimeoutMs = 4000;

    private static readonly Dictionary<string, string> FaultTimeouts = new(StringComparer.Ordinal)
    {
        ["broker.session.timeout.ms"] = SessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
        ["broker.heartbeat.interval.ms"] = "500",
        ["replica.lag.time.max.ms"] = "5000",
        ["replica.socket.timeout.ms"] = "5000",
        ["replica.fetch.backoff.ms"] = "200",
    };

    public static Dictionary<string, string> For(ComposeNode node, int hostPort)
    {
        var environment = new Dictionary<string, string>(node.Environment, StringComparer.Ordinal);
        var advertised = EnvironmentConfig.ToVariableName("advertised.listeners");
        var external = $"EXTERNAL://127.0.0.1:{node.HostPort}";
        Assert.Contains(external, environment[advertised], StringComparison.Ordinal);
        environment[advertised] = environment[advertised].Replace(external, $"EXTERNAL://127.0.0.1:{hostPort}", StringComparison.Ordinal);
        foreach (var (key, value) in FaultTimeouts)
        {
            environment[EnvironmentConfig.ToVariableName(key)] = value;
        }

        return environment;
    }

    /// <summary>host:port of the node's advertised PLAINTEXT listener (its container name on the network).</summary>
    public static string InternalAddress(ComposeNode node) =>
        node.Environment[EnvironmentConfig.ToVariableName("advertised.listeners")].Split(',')
            .Single(l => l.StartsWith("PLAINTEXT://", StringComparison.Ordinal))["PLAINTEXT://".Length..];
}
