using System.Globalization;
using System.Net;
using Broker.Cluster.Network;
using Broker.Cluster.Raft;
using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Broker.Server;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// Three KRaft nodes (process.roles=broker,controller, ids 1-3) in this process, each with its own log dir, a client
/// listener on an ephemeral port and a controller listener on a port picked free beforehand, sharing one
/// controller.quorum.voters list: the metadata is replicated by the Raft quorum over real sockets. Nodes can be stopped
/// and restarted on their log dirs (same controller port). Not thread-safe: one test drives it.
/// </summary>
internal sealed class RaftCluster : IAsyncDisposable
{
    public const string ClusterId = "UmFmdENsdXN0ZXJUZXN0MQ";
    public const int Size = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly TestOutputLoggerFactory _loggerFactory;
    private readonly TempDirectory[] _dirs;
    private readonly RunningBroker?[] _brokers = new RunningBroker?[Size];
    private readonly int[] _controllerPorts;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly Func<int, IEnumerable<KeyValuePair<string, string>>>? _nodeSettings;
    private readonly List<(RunningBroker Broker, TempDirectory Dir)> _brokerOnly = [];

    private RaftCluster(ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings,
        Func<int, IEnumerable<KeyValuePair<string, string>>>? nodeSettings)
    {
        _output = output;
        _settings = settings ?? new Dictionary<string, string>();
        _nodeSettings = nodeSettings;
        _loggerFactory = new TestOutputLoggerFactory(output);
        _dirs = [.. Enumerable.Range(1, Size).Select(i => new TempDirectory($"raft-it-{i}-"))];
        _controllerPorts = BrokerProcess.FreePorts(Size);
        Voters = string.Join(',', Enumerable.Range(1, Size).Select(i => $"{i}@127.0.0.1:{_controllerPorts[i - 1]}"));
    }

    /// <summary>controller.quorum.voters of every node.</summary>
    public string Voters { get; }

    /// <summary>Every running node's client bootstrap address.</summary>
    public string BootstrapServers => string.Join(',', _brokers.Where(b => b is not null).Select(b => b!.BootstrapServers));

    public IEnumerable<int> RunningNodes => Enumerable.Range(1, Size).Where(n => _brokers[n - 1] is not null);

    /// <param name="settings">Extra server.properties for every node (they win over the cluster's own).</param>
    /// <param name="nodeSettings">Extra server settings per node id (e.g. broker.rack), applied last.</param>
    public static async Task<RaftCluster> StartAsync(ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings = null,
        Func<int, IEnumerable<KeyValuePair<string, string>>>? nodeSettings = null)
    {
        var cluster = new RaftCluster(output, settings, nodeSettings);
        try
        {
            // Together: a lone node cannot elect itself, and start-up does not wait for the quorum.
            await Task.WhenAll(Enumerable.Range(1, Size).Select(cluster.StartNodeAsync));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    public RunningBroker Node(int node) => _brokers[node - 1] ?? throw new InvalidOperationException($"Node {node} is stopped.");

    public async Task StartNodeAsync(int node)
    {
        var settings = BrokerFixture.DefaultSettings(_dirs[node - 1].Path);
        settings["node.id"] = node.ToString(CultureInfo.InvariantCulture);
        settings["cluster.id"] = ClusterId;
        settings["listeners"] = $"PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:{_controllerPorts[node - 1]}";
        settings["advertised.listeners"] = "PLAINTEXT://127.0.0.1:0";
        settings["controller.listener.names"] = "CONTROLLER";
        settings["controller.quorum.voters"] = Voters;

        // A stopped node's leaderships move once its session expires: short enough for a test, long enough that a live
        // node on a loaded machine keeps its session (heartbeats every 500 ms).
        settings["broker.session.timeout.ms"] = "6000";
        settings["broker.heartbeat.interval.ms"] = "500";
        foreach (var (key, value) in _settings.Concat(_nodeSettings?.Invoke(node) ?? []))
        {
            settings[key] = value;
        }

        var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, _loggerFactory.CreateLogger("Config"));
        using var cts = new CancellationTokenSource(StartTimeout);
        _brokers[node - 1] = await BrokerHost.StartAsync(config, _loggerFactory, TimeProvider.System, cts.Token).WaitAsync(StartTimeout);
        TestOutput.TryWriteLine(_output, $"node {node} started on {_brokers[node - 1]!.BootstrapServers}, controller port {_controllerPorts[node - 1]}");
    }

    /// <summary>Stops a node gracefully; <paramref name="controlledShutdown"/> false skips the KRaft controlled shutdown, so
    /// the controller only learns of the stop when the node's session expires (as after a crash).</summary>
    public async Task StopNodeAsync(int node, bool controlledShutdown = true)
    {
        var broker = _brokers[node - 1];
        _brokers[node - 1] = null;
        if (broker is not null)
        {
            // The bound covers a controlled shutdown (at most RunningBroker's 30 s) plus closing.
            await broker.StopAsync(controlledShutdown).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            TestOutput.TryWriteLine(_output, $"node {node} stopped");
        }
    }

    /// <summary>The voters' controller endpoints as <c>controller.quorum.bootstrap.servers</c>.</summary>
    public string ControllerBootstrapServers => string.Join(',', _controllerPorts.Select(p => $"127.0.0.1:{p}"));

    /// <summary>
    /// Starts a broker-only node (process.roles=broker, no controller listener) with <paramref name="quorumSettings"/>
    /// (voters and/or bootstrap servers); it is stopped with the cluster.
    /// </summary>
    public async Task<RunningBroker> StartBrokerOnlyAsync(int nodeId, IReadOnlyDictionary<string, string> quorumSettings)
    {
        var dir = new TempDirectory($"raft-it-broker-{nodeId}-");
        var settings = BrokerFixture.DefaultSettings(dir.Path);
        settings["node.id"] = nodeId.ToString(CultureInfo.InvariantCulture);
        settings["process.roles"] = "broker";
        settings["cluster.id"] = ClusterId;
        settings["controller.listener.names"] = "CONTROLLER";
        settings["broker.session.timeout.ms"] = "6000";
        settings["broker.heartbeat.interval.ms"] = "500";
        foreach (var (key, value) in quorumSettings)
        {
            settings[key] = value;
        }

        try
        {
            var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, _loggerFactory.CreateLogger("Config"));
            using var cts = new CancellationTokenSource(StartTimeout);
            var broker = await BrokerHost.StartAsync(config, _loggerFactory, TimeProvider.System, cts.Token).WaitAsync(StartTimeout);
            _brokerOnly.Add((broker, dir));
            TestOutput.TryWriteLine(_output, $"broker-only node {nodeId} started on {broker.BootstrapServers}");
            return broker;
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>A node's <c>__cluster_metadata-0</c> directory (segments, snapshots, quorum-state), running or not.</summary>
    public string MetadataDirectory(int node) => System.IO.Path.Combine(_dirs[node - 1].Path, "__cluster_metadata-0");

    /// <summary>Waits until every running node names the same leader, which itself leads; returns it and its epoch.</summary>
    public async Task<(int Leader, int Epoch)> WaitForLeaderAsync(TimeSpan? timeout = null)
    {
        (int Leader, int Epoch) found = (-1, -1);
        await InProcessCluster.WaitUntilAsync(() =>
        {
            var states = RunningNodes.Select(n => Node(n).QuorumState!.Value).ToArray();
            var leader = states[0].LeaderId;
            if (leader < 0 || _brokers[leader - 1] is null || states.Any(s => s.LeaderId != leader || s.Epoch != states[0].Epoch)
                || Node(leader).QuorumState!.Value.Role != RaftRole.Leader)
            {
                return false;
            }

            found = (leader, states[0].Epoch);
            return true;
        }, "the running nodes agree on one quorum leader", timeout);
        return found;
    }

    /// <summary>DescribeQuorum (v1) sent over the wire to a node's controller listener.</summary>
    public Task<DescribeQuorumResponse> DescribeQuorumAsync(int node) =>
        KafkaRequests.DescribeQuorumAsync(new IPEndPoint(IPAddress.Loopback, _controllerPorts[node - 1]));

    /// <summary>A new connection to a node's client (PLAINTEXT) listener, owned by the caller (several requests on one
    /// connection).</summary>
    public KafkaClientConnection ClientConnection(int node)
    {
        var endPoint = Node(node).Endpoints.First(e => e.Listener == "PLAINTEXT").EndPoint;
        return new KafkaClientConnection(() => endPoint, new KafkaClientOptions("quorum-test", RequestTimeoutMs: 30_000),
            TimeProvider.System, new Random(node), NullLogger.Instance);
    }

    /// <summary>Sends a request to a node's client (PLAINTEXT) listener and returns the response.</summary>
    public Task<TResponse> SendAsync<TResponse>(int node, IApiMessage request, short version)
        where TResponse : IApiMessage, new() =>
        KafkaRequests.SendAsync<TResponse>(Node(node).Endpoints.First(e => e.Listener == "PLAINTEXT").EndPoint, request, version);

    public async ValueTask DisposeAsync()
    {
        foreach (var (broker, dir) in _brokerOnly)
        {
            try
            {
                await broker.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when (e is TimeoutException or ObjectDisposedException)
            {
                TestOutput.TryWriteLine(_output, $"a broker-only node did not stop cleanly: {e.Message}");
            }

            dir.Dispose();
        }

        for (var node = 1; node <= Size; node++)
        {
            try
            {
                // Teardown is not under test: a controlled shutdown of the last voters would only wait for a leader.
                await StopNodeAsync(node, controlledShutdown: false);
            }
            catch (Exception e) when (e is TimeoutException or ObjectDisposedException)
            {
                TestOutput.TryWriteLine(_output, $"node {node} did not stop cleanly: {e.Message}");
            }
        }

        foreach (var dir in _dirs)
        {
            dir.Dispose();
        }

        _loggerFactory.Dispose();
    }
}
