using System.Diagnostics;
using System.Globalization;
using System.Text;
using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Broker.Server.Configuration;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using DotNet.Testcontainers.Networks;
using EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Cluster;

/// <summary>
/// The three combined KRaft nodes of examples/docker/compose.yaml as broker-image containers, one per node on a
/// user-defined network of their own where each is reachable by the example's container name (a network alias, so
/// runs never clash over names), which it advertises; its EXTERNAL listener is published on a free 127.0.0.1 port
/// and advertised as such to the host. The tests inject faults through the docker CLI (kill and start, pause and
/// unpause, network disconnect and connect) and query metadata from the host. Disposal removes the containers (with their volumes) and the network.
/// Owned by one test; the waits may be called from any thread.
/// </summary>
internal sealed class ContainerCluster : ICheckedCluster, IWaitingCluster, IAsyncDisposable
{
    public const int NodeCount = 3;

    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);

    private readonly ITestOutputHelper _output;
    private readonly List<BrokerContainer> _nodes = [];
    private readonly IReadOnlyList<ComposeNode> _compose;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private INetwork? _network;
    private IAdminClient? _admin;

    private ContainerCluster(ITestOutputHelper output)
    {
        _output = output;
        _compose = ComposeCluster.Load();
        Assert.Equal(NodeCount, _compose.Count);
        for (var node = 1; node <= NodeCount; node++)
        {
            Assert.Equal(node.ToString(CultureInfo.InvariantCulture), _compose[node - 1].Environment[EnvironmentConfig.ToVariableName("node.id")]);
        }

        InternalBootstrapServers = string.Join(',', _compose.Select(ClusterNodeSettings.InternalAddress));
    }

    /// <summary>The user-defined network the nodes (and client containers) share.</summary>
    public INetwork Network => _network ?? throw new InvalidOperationException("The cluster is not started.");

    /// <summary>The nodes' EXTERNAL listeners as published on the host.</summary>
    public string BootstrapServers { get; private set; } = "";

    /// <summary>The nodes' PLAINTEXT listeners as advertised (by the example's container names), for containers on <see cref="NetworkName"/>.</summary>
    public string InternalBootstrapServers { get; }

    /// <summary>Creates the network, starts the three nodes and waits until every node is a registered, unfenced broker.</summary>
    public static async Task<ContainerCluster> StartAsync(ITestOutputHelper output)
    {
        await E2EDocker.EnsureBrokerImageAsync();
        var cluster = new ContainerCluster(output);
        try
        {
            cluster._network = await E2EDocker.CreateNetworkAsync("kafka");
            var externalPorts = new List<int>();
            foreach (var compose in cluster._compose)
            {
                var builder = new BrokerContainerBuilder(compose.ContainerName).WithNetwork(cluster._network, compose.ContainerName);
                var hostPort = builder.PublishPort(compose.ContainerPort);
                foreach (var (name, value) in ClusterNodeSettings.For(compose, hostPort))
                {
                    builder.WithEnvironment(name, value);
                }

                externalPorts.Add(hostPort);
                cluster._nodes.Add(builder.Build());
            }

            cluster.BootstrapServers = string.Join(',', externalPorts.Select(p => $"127.0.0.1:{p}"));
            var started = Stopwatch.StartNew();

            // Each node answers /v1/ready once it serves, which needs the Raft quorum: they start together.
            await Task.WhenAll(cluster._nodes.Select(n => n.StartAndWaitReadyAsync()));
            cluster._admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers, SocketTimeoutMs = 5000 })
                .SetLogHandler(static (_, _) => { })
                .Build();
            await cluster.WaitForBrokersAsync(Enumerable.Range(1, NodeCount));
            cluster.Log($"cluster ready {started.Elapsed.TotalSeconds:F1} s after its containers started");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The container name of node <paramref name="node"/> (1-based) in this run.</summary>
    public string ContainerName(int node) => _nodes[node - 1].Name;

    /// <summary>Creates a topic with replication factor 3 and min.insync.replicas 2, retrying until the cluster can.</summary>
    public Task CreateTopicAsync(string topic, int partitions) =>
        WaitUntilAsync(async () =>
        {
            try
            {
                await _admin!.CreateTopicsAsync(
                    [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = NodeCount, Configs = new() { ["min.insync.replicas"] = "2" } }],
                    new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
                return true;
            }
            catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.TopicAlreadyExists or ErrorCode.NoError))
            {
                return true;
            }
            catch (CreateTopicsException)
            {
                return false;
            }
        }, $"topic {topic} is created");

    /// <summary>The partition's leader as the host sees it, or null when it has none or no node answers.</summary>
    public int? Leader(string topic, int partition)
    {
        var metadata = _admin!.GetMetadata(topic, MetadataTimeout);
        var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic)?.Partitions.SingleOrDefault(p => p.PartitionId == partition);
        return found is { Error.IsError: false, Leader: > 0 } ? found.Leader : null;
    }

    /// <summary>Waits until the partition has a leader and returns it.</summary>
    public async Task<int> WaitForLeaderAsync(string topic, int partition, int? other = null)
    {
        var leader = 0;
        await WaitUntilAsync(() =>
        {
            leader = Leader(topic, partition) ?? 0;
            return leader > 0 && leader != other;
        }, $"{topic}-{partition} has a leader{(other is null ? "" : $" other than node {other}")}");
        return leader;
    }

    /// <summary>Waits until every partition of <paramref name="topic"/> has all three nodes in its ISR.</summary>
    public Task WaitForFullIsrAsync(string topic) =>
        WaitUntilAsync(() =>
        {
            var metadata = _admin!.GetMetadata(topic, MetadataTimeout).Topics.SingleOrDefault(t => t.Topic == topic);
            return metadata is { Error.IsError: false, Partitions.Count: > 0 }
                && metadata.Partitions.All(p => p.Leader > 0 && p.InSyncReplicas.Length == NodeCount);
        }, $"every partition of {topic} has {NodeCount} in-sync replicas");

    /// <summary>Waits until Metadata lists every one of <paramref name="nodes"/> (registered and unfenced).</summary>
    public Task WaitForBrokersAsync(IEnumerable<int> nodes)
    {
        var wanted = nodes.ToHashSet();
        return WaitUntilAsync(
            () => _admin!.GetMetadata(MetadataTimeout).Brokers.Select(b => b.BrokerId).ToHashSet().IsSupersetOf(wanted),
            $"Metadata lists brokers {string.Join(',', wanted)}");
    }

    public async Task KillAsync(int node)
    {
        await _nodes[node - 1].KillAsync();
        Log($"node {node} killed (docker kill)");
    }

    /// <summary>Starts a killed node again, with the data it had, and waits until it serves.</summary>
    public async Task RestartAsync(int node)
    {
        await _nodes[node - 1].StartAgainAndWaitReadyAsync();
        Log($"node {node} started again (docker start) and ready");
    }

    public async Task PauseAsync(int node)
    {
        await E2EDocker.RunAsync("pause", ContainerName(node));
        Log($"node {node} paused (docker pause)");
    }

    public async Task UnpauseAsync(int node)
    {
        await E2EDocker.RunAsync("unpause", ContainerName(node));
        Log($"node {node} unpaused");
    }

    /// <summary>Cuts the node off from the other nodes, the clients and the host (its published port goes through the network too).</summary>
    public async Task DisconnectAsync(int node)
    {
        await E2EDocker.RunAsync("network", "disconnect", Network.Name, ContainerName(node));
        Log($"node {node} disconnected from {Network.Name}");
    }

    public async Task ConnectAsync(int node)
    {
        await E2EDocker.RunAsync("network", "connect", "--alias", _compose[node - 1].ContainerName, Network.Name, ContainerName(node));
        Log($"node {node} connected to {Network.Name} again");
    }

    /// <summary>Polls <paramref name="condition"/> every 250 ms; fails with <paramref name="what"/> and every node's log tail.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? WaitTimeout;
        var deadline = DateTime.UtcNow + limit;
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (KafkaException e)
            {
                last = e;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:F0} s waiting until {what} (last error: {last?.Message ?? "none"}).{Environment.NewLine}{await DiagnosticsAsync()}");
            }

            await Task.Delay(250);
        }
    }

    public Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, timeout);

    public void Log(string line) => TestOutput.TryWriteLine(_output, $"[{_clock.Elapsed.TotalSeconds,6:F1} s] {line}");

    public async ValueTask DisposeAsync()
    {
        _admin?.Dispose();
        foreach (var node in _nodes)
        {
            // A paused container cannot be removed gracefully; unpausing one that runs fails harmlessly.
            await ProcessRunner.RunAsync("docker", ["unpause", node.Name], TimeSpan.FromSeconds(30));
            await node.DisposeAsync();
        }

        if (_network is not null)
        {
            await _network.DisposeAsync();
        }
    }

    private async Task<string> DiagnosticsAsync()
    {
        var text = new StringBuilder();
        foreach (var name in _nodes.Select(n => n.Name))
        {
            var logs = await ProcessRunner.RunAsync("docker", ["logs", "--tail", "25", name], TimeSpan.FromSeconds(30));
            text.AppendLine($"--- {name} ---").AppendLine(logs.StandardOutput).AppendLine(logs.StandardError);
        }

        return text.ToString();
    }
}
