using Broker.Server;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cli.Tests;

/// <summary>One in-process broker (node 1) on a 127.0.0.1 ephemeral port with its own log dir, for the tools' tests (a class fixture, or owned by a test class). Not thread-safe.</summary>
public sealed class SingleBroker : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-broker-").FullName;
    private readonly int _numPartitions;
    private RunningBroker? _broker;

    public SingleBroker()
        : this(numPartitions: 2)
    {
    }

    /// <param name="numPartitions">The broker's <c>num.partitions</c>, for auto-created topics.</param>
    internal SingleBroker(int numPartitions) => _numPartitions = numPartitions;

    public string BootstrapServers => _broker!.BootstrapServers;

    public RunningBroker Broker => _broker!;

    public async Task InitializeAsync()
    {
        var config = BrokerConfig.Load(null, new Dictionary<string, string>(), new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = _dir,
            ["num.partitions"] = _numPartitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // A single node, as in Kafka's quickstart: the groups' offsets topic with one replica (consumer-groups tests).
            ["offsets.topic.replication.factor"] = "1",
            ["offsets.topic.num.partitions"] = "3",
            ["group.initial.rebalance.delay.ms"] = "0",
            ["health.port"] = "-1",
            ["metrics.port"] = "-1",
        }, null);
        _broker = await BrokerHost.StartAsync(config, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }
}
