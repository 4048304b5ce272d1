using Broker.Server;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.IntegrationTests.Wire;

/// <summary>An in-process broker on an ephemeral 127.0.0.1 port with its own temp log dir.</summary>
internal sealed class WireBroker : IAsyncDisposable
{
    private WireBroker(RunningBroker broker, string dataDir)
    {
        Broker = broker;
        DataDir = dataDir;
    }

    public RunningBroker Broker { get; }

    public string DataDir { get; }

    public string Bootstrap => Broker.BootstrapServers;

    public static async Task<WireBroker> StartAsync(params (string Key, string Value)[] overrides)
    {
        var dataDir = Directory.CreateTempSubdirectory("wire-broker-").FullName;
        var settings = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["process.roles"] = "broker,controller",
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = dataDir,
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, null);
        var broker = await BrokerHost.StartAsync(config, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
        return new WireBroker(broker, dataDir);
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp dir left behind is harmless.
        }
    }
}
