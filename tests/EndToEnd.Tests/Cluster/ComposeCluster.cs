using System.Globalization;
using Broker.IntegrationTests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace EndToEnd.Tests.Cluster;

/// <summary>One service of examples/docker/compose.yaml: a broker node as the example defines it. Immutable.</summary>
/// <param name="ContainerName">The example's container name, which the node advertises on the network.</param>
/// <param name="Environment">The node's KAFKA_* variables, anchors merged.</param>
/// <param name="HostPort">The published host port of the EXTERNAL listener.</param>
/// <param name="ContainerPort">The EXTERNAL listener's port inside the container.</param>
internal sealed record ComposeNode(string ContainerName, IReadOnlyDictionary<string, string> Environment, int HostPort, int ContainerPort);

/// <summary>
/// Reads the broker nodes of examples/docker/compose.yaml, so that the container tests run the example's own
/// settings rather than a copy of them. Thread-safe (no state).
/// </summary>
internal static class ComposeCluster
{
    public static string Path { get; } = System.IO.Path.Combine(RepositoryPaths.Root, "examples", "docker", "compose.yaml");

    /// <summary>The services in file order.</summary>
    public static IReadOnlyList<ComposeNode> Load()
    {
        // MergingParser resolves the file's '<<: *anchor' merge keys, as Compose does.
        using var reader = new StringReader(File.ReadAllText(Path));
        var document = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(new MergingParser(new Parser(reader)));
        var nodes = new List<ComposeNode>();
        foreach (var (_, value) in (Dictionary<object, object>)document["services"])
        {
            var service = (Dictionary<object, object>)value;
            var environment = ((Dictionary<object, object>)service["environment"]).ToDictionary(e => (string)e.Key, e => (string)e.Value, StringComparer.Ordinal);

            // "127.0.0.1:29092:9094": address, host port, container port.
            var port = ((string)Assert.Single((List<object>)service["ports"])).Split(':');
            nodes.Add(new ComposeNode(
                (string)service["container_name"],
                environment,
                int.Parse(port[^2], CultureInfo.InvariantCulture),
                int.Parse(port[^1], CultureInfo.InvariantCulture)));
        }

        return nodes;
    }
}
