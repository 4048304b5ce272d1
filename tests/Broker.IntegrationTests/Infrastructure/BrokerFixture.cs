using Broker.Server;
using Broker.Server.Configuration;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// One in-process broker per test: node 1 in combined broker+controller mode on an ephemeral 127.0.0.1 port
/// (health and metrics side ports ephemeral too),
/// with its own temp log dir, logging into the test output. Dispose stops it gracefully and deletes the dir.
/// Topics are not auto-created unless a test overrides <c>auto.create.topics.enable</c>. Not thread-safe.
/// </summary>
internal sealed class BrokerFixture : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _logDir;
    private readonly TestOutputLoggerFactory _loggerFactory;

    private BrokerFixture(RunningBroker broker, TempDirectory logDir, TestOutputLoggerFactory loggerFactory)
    {
        Broker = broker;
        _logDir = logDir;
        _loggerFactory = loggerFactory;
    }

    public RunningBroker Broker { get; }

    public string BootstrapServers => Broker.BootstrapServers;

    public string LogDir => _logDir.Path;

    /// <summary>Entries the broker logged at Error level or above.</summary>
    public IReadOnlyCollection<string> LoggedErrors => _loggerFactory.Errors;

    public static async Task<BrokerFixture> StartAsync(ITestOutputHelper output, params (string Key, string Value)[] overrides)
    {
        var logDir = new TempDirectory("broker-it-");
        var loggerFactory = new TestOutputLoggerFactory(output);
        try
        {
            var settings = DefaultSettings(logDir.Path);
            foreach (var (key, value) in overrides)
            {
                settings[key] = value;
            }

            var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, loggerFactory.CreateLogger("Config"));
            using var cts = new CancellationTokenSource(StartTimeout);
            var broker = await BrokerHost.StartAsync(config, loggerFactory, TimeProvider.System, cts.Token).WaitAsync(StartTimeout);
            TestOutput.TryWriteLine(output, $"broker started on {broker.BootstrapServers}, log dir {logDir.Path}");
            return new BrokerFixture(broker, logDir, loggerFactory);
        }
        catch
        {
            logDir.Dispose();
            throw;
        }
    }

    /// <summary>The keys every test broker needs; tests add or replace keys through overrides.</summary>
    public static Dictionary<string, string> DefaultSettings(string logDir) => new(StringComparer.Ordinal)
    {
        ["node.id"] = "1",
        ["process.roles"] = "broker,controller",
        ["listeners"] = "PLAINTEXT://127.0.0.1:0",
        ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:0",
        ["log.dirs"] = logDir,
        ["auto.create.topics.enable"] = "false",
        ["num.partitions"] = "1",
        // Single node, as in Kafka's quickstart; groups start rebalancing at once and may use short sessions.
        ["offsets.topic.replication.factor"] = "1",
        ["offsets.topic.num.partitions"] = "5", // every consumer with a group id creates it: keep it small
        ["transaction.state.log.replication.factor"] = "1",
        ["transaction.state.log.min.isr"] = "1",
        ["transaction.state.log.num.partitions"] = "5",
        ["group.initial.rebalance.delay.ms"] = "0",
        ["group.min.session.timeout.ms"] = "1000",
        // Ephemeral side ports, so brokers started in parallel (and `make run`) never collide.
        ["health.host"] = "127.0.0.1",
        ["health.port"] = "0",
        ["metrics.host"] = "127.0.0.1",
        ["metrics.port"] = "0",
    };

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Broker.DisposeAsync().AsTask().WaitAsync(StopTimeout);
        }
        finally
        {
            _loggerFactory.Dispose();
            _logDir.Dispose();
        }
    }
}
