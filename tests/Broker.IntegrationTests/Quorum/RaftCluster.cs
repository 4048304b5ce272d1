using System.Globalization;
using System.Net;
using System.Net.Sockets;
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
    private readonly Func<int, IEnumerable<KeyValuePair<string, string>>>? _nodeSettings;

    private RaftCluster(ITestOutputHelper output, Func<int, IEnumerable<KeyValuePair<string, string>>>? nodeSettings)
    {
        _output = output;
        _nodeSettings = nodeSettings;
        _loggerFactory = new TestOutputLoggerFactory(output);
        _dirs = [.. Enumerable.Range(1, Size).Select(i => new TempDirectory($"raft-it-{i}-"))];
        _controllerPorts = FreePorts(Size);
        Voters = string.Join(',', Enumerable.Range(1, Size).Select(i => $"{i}@127.0.0.1:{_controllerPorts[i - 1]}"));
    }

    /// <summary>controller.quorum.voters of every node.</summary>
    public string Voters { get; }

    /// <summary>Every running node's client bootstrap address.</summary>
    public string BootstrapServers => string.Join(',', _brokers.Where(b => b is not null).Select(b => b!.BootstrapServers));

    public IEnumerable<int> RunningNodes => Enumerable.Range(1, Size).Where(n => _brokers[n - 1] is not null);

    /// <param name="nodeSettings">Extra server settings per node id (e.g. broker.rack), applied last.</param>
    public static async Task<RaftCluster> StartAsync(ITestOutputHelper output, Func<int, IEnumerable<KeyValuePair<string, string>>>? nodeSettings = null)
    {
        var cluster = new RaftCluster(output, nodeSettings);
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
        foreach (var (key, value) in _nodeSettings?.Invoke(node) ?? [])
        {
            settings[key] = value;
        }

        var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, _loggerFactory.CreateLogger("Config"));
        using var cts = new CancellationTokenSource(StartTimeout);
        _brokers[node - 1] = await BrokerHost.StartAsync(config, _loggerFactory, TimeProvider.System, cts.Token).WaitAsync(StartTimeout);
        TestOutput.TryWriteLine(_output, $"node {node} started on {_brokers[node - 1]!.BootstrapServers}, controller port {_controllerPorts[node - 1]}");
    }

    public async Task StopNodeAsync(int node)
    {
        var broker = _brokers[node - 1];
        _brokers[node - 1] = null;
        if (broker is not null)
        {
            await broker.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            TestOutput.TryWriteLine(_output, $"node {node} stopped");
        }
    }

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
    public async Task<DescribeQuorumResponse> DescribeQuorumAsync(int node)
    {
        await using var connection = new KafkaClientConnection(
            () => new IPEndPoint(IPAddress.Loopback, _controllerPorts[node - 1]),
            new KafkaClientOptions("quorum-test", RequestTimeoutMs: 10_000),
            TimeProvider.System,
            new Random(node),
            NullLogger.Instance);
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };
        using var response = await connection.SendAsync<DescribeQuorumResponse>(request, 1, CancellationToken.None);
        return response.Message;
    }

    /// <summary>Sends a request to a node's client (PLAINTEXT) listener and returns the response.</summary>
    public async Task<TResponse> SendAsync<TResponse>(int node, IApiMessage request, short version)
        where TResponse : IApiMessage, new()
    {
        var endPoint = Node(node).Endpoints.First(e => e.Listener == "PLAINTEXT").EndPoint;
        await using var connection = new KafkaClientConnection(() => endPoint, new KafkaClientOptions("quorum-test", RequestTimeoutMs: 30_000),
            TimeProvider.System, new Random(node), NullLogger.Instance);
        using var response = await connection.SendAsync<TResponse>(request, version, CancellationToken.None);
        return response.Message;
    }

    private static int[] FreePorts(int count)
    {
        // Held open together so the three differ; a race with another process binding one before the node does is
        // possible but unlikely on loopback.
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var listener in listeners)
        {
            listener.Start();
        }

        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var listener in listeners)
        {
            listener.Stop();
        }

        return ports;
    }

    public async ValueTask DisposeAsync()
    {
        for (var node = 1; node <= Size; node++)
        {
            try
            {
                await StopNodeAsync(node);
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
