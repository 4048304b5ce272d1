using System.Globalization;
using Broker.Cluster.Metadata;
using Broker.Server;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cli.Tests;

/// <summary>
/// Brokers 1-3 in this process on 127.0.0.1 ephemeral ports sharing one in-memory metadata store (node 1 is the
/// controller), as Broker.IntegrationTests' InProcessCluster: enough for replicas to move between brokers. Not thread-safe.
/// </summary>
public sealed class ThreeBrokers : IAsyncLifetime
{
    private readonly string[] _dirs = [.. Enumerable.Range(1, 3).Select(i => Directory.CreateTempSubdirectory($"cli-cluster-{i}-").FullName)];
    private readonly RunningBroker?[] _brokers = new RunningBroker?[3];

    public InMemoryMetadataStore Store { get; } = new(MetadataImage.Empty("MkU3OEVBNTcwNTJENDM2Qg", controllerId: 1));

    public string BootstrapServers => string.Join(',', _brokers.Select(b => b!.BootstrapServers));

    public RunningBroker Broker(int node) => _brokers[node - 1]!;

    public async Task InitializeAsync()
    {
        for (var node = 1; node <= 3; node++)
        {
            var config = BrokerConfig.Load(null, new Dictionary<string, string>(), new Dictionary<string, string>
            {
                ["node.id"] = node.ToString(CultureInfo.InvariantCulture),
                ["process.roles"] = "broker,controller",
                ["cluster.id"] = "MkU3OEVBNTcwNTJENDM2Qg",
                ["listeners"] = "PLAINTEXT://127.0.0.1:0",
                ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:0",
                ["log.dirs"] = _dirs[node - 1],
                ["auto.create.topics.enable"] = "false",
                ["default.replication.factor"] = "2",
                ["offsets.topic.replication.factor"] = "3",
                ["offsets.topic.num.partitions"] = "1",
                ["replica.fetch.backoff.ms"] = "200",
                ["health.port"] = "-1",
                ["metrics.port"] = "-1",
            }, null);
            _brokers[node - 1] = await BrokerHost.StartAsync(config, NullLoggerFactory.Instance, TimeProvider.System, Store, CancellationToken.None)
                .WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            if (broker is not null)
            {
                await broker.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        foreach (var dir in _dirs)
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
