using Broker.Cluster.Network;
using Broker.Protocol.Messages;
using Broker.Server;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Operator.Reconcilers.Tests;

/// <summary>
/// A real broker in process for the operator's Admin calls: one combined node with the given node id on an ephemeral
/// 127.0.0.1 port and its own temp log dir, so every replica of every topic it holds is on that node id. Dispose stops it
/// and deletes the dir. Not thread-safe.
/// </summary>
internal sealed class TestBroker : IAsyncDisposable
{
    private readonly string _logDir;

    private TestBroker(RunningBroker broker, string logDir)
    {
        Broker = broker;
        _logDir = logDir;
    }

    public RunningBroker Broker { get; }

    /// <summary>host:port of its listener.</summary>
    public string Bootstrap => Broker.BootstrapServers;

    /// <summary>The operator's Admin calls to this broker, whatever cluster they name.</summary>
    public IClusterAdmin Admin => new KafkaProtocolAdmin((_, _) => Bootstrap, TimeSpan.FromSeconds(10));

    public static async Task<TestBroker> StartAsync(int nodeId)
    {
        var logDir = Directory.CreateTempSubdirectory("operator-broker-").FullName;
        try
        {
            var settings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["node.id"] = nodeId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["process.roles"] = "broker,controller",
                ["listeners"] = "PLAINTEXT://127.0.0.1:0",
                ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:0",
                ["log.dirs"] = logDir,
                ["auto.create.topics.enable"] = "false",
                ["offsets.topic.replication.factor"] = "1",
                ["health.host"] = "127.0.0.1",
                ["health.port"] = "0",
                ["metrics.host"] = "127.0.0.1",
                ["metrics.port"] = "0",
            };
            var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, NullLogger.Instance);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var broker = await BrokerHost.StartAsync(config, NullLoggerFactory.Instance, TimeProvider.System, timeout.Token);
            return new TestBroker(broker, logDir);
        }
        catch
        {
            Directory.Delete(logDir, recursive: true);
            throw;
        }
    }

    /// <summary>Creates a topic of one partition (its replica on this node), failing the test on any error.</summary>
    public async Task CreateTopicAsync(string name)
    {
        Assert.True(KafkaEndpoint.TryParse(Bootstrap, out var endpoint));
        await using var connection = new KafkaClientConnection(() => endpoint, new KafkaClientOptions("operator-tests"), TimeProvider.System, new Random(), NullLogger.Instance);
        var request = new CreateTopicsRequest { Topics = [new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = 1, ReplicationFactor = 1 }] };
        using var response = await connection.SendAsync<CreateTopicsResponse>(request, 5, CancellationToken.None);
        var result = Assert.Single(response.Message.Topics);
        Assert.Equal(0, result.ErrorCode);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Broker.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Directory.Delete(_logDir, recursive: true);
        }
    }
}
