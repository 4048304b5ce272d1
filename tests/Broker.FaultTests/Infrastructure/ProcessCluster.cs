using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Broker.Storage;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.FaultTests.Infrastructure;

/// <summary>
/// Real broker processes (<c>kafka-broker.dll start --config</c>) on 127.0.0.1: three combined nodes (process.roles=
/// broker,controller, node ids 1-3), or controller-only nodes (ids from 1) beside broker-only nodes (the ids after them).
/// Each has its client and/or controller port picked up front, a log dir formatted with
/// <c>kafka-broker.dll storage format</c> under one random cluster id, and its output in <c>node-N/broker.log</c> under
/// the test's temp dir. Nodes can be SIGKILLed, SIGTERMed, SIGSTOPped and resumed, and started again on the same data.
/// Dispose resumes and kills every process and deletes the dir (kept when FAULT_KEEP_DIR is set). Not thread-safe:
/// one test drives it.
/// </summary>
internal sealed class ProcessCluster : ICheckedCluster, IAsyncDisposable
{
    /// <summary>The replication factor of the tests' topics (and of the internal topics): every broker of a default cluster.</summary>
    public const short ReplicationFactor = 3;
    public static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(60);

    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _dir;
    private readonly int[] _clientPorts;
    private readonly int[] _controllerPorts;
    private readonly BrokerProcess?[] _processes;
    private readonly IAdminClient _admin;

    // Set for a dynamic quorum: each controller's metadata directory id, as --initial-controllers names them.
    private Dictionary<int, string>? _initialControllerDirs;

    // Set for a dynamic quorum that starts with node 1 alone (--standalone); the others join (--no-initial-controllers).
    private bool _standaloneFirst;

    private ProcessCluster(ITestOutputHelper output, int controllerOnly, int brokerOnly, int combined)
    {
        _output = output;
        _dir = new TempDirectory("faults-");
        var count = controllerOnly + brokerOnly + combined;
        var ports = BrokerProcess.FreePorts(2 * count);
        _clientPorts = new int[count];
        _controllerPorts = new int[count];
        _processes = new BrokerProcess?[count];
        for (var i = 0; i < count; i++)
        {
            // Node ids: the controller-only nodes first, then the broker-only ones, then the combined ones.
            var hasBroker = i >= controllerOnly;
            var hasController = i < controllerOnly || i >= controllerOnly + brokerOnly;
            _clientPorts[i] = hasBroker ? ports[2 * i] : 0;
            _controllerPorts[i] = hasController ? ports[2 * i + 1] : 0;
        }

        Nodes = [.. Enumerable.Range(1, count)];
        BrokerNodes = [.. Nodes.Where(n => _clientPorts[n - 1] > 0)];
        BootstrapServers = string.Join(',', BrokerNodes.Select(Bootstrap));
        _admin = KafkaClients.Admin(BootstrapServers, new QuietOutput(output));
    }

    /// <summary>Every broker node's client address, running or not: clients skip the dead ones, as with a real bootstrap list.</summary>
    public string BootstrapServers { get; }

    public IAdminClient Admin => _admin;

    /// <summary>Every node id, 1 to the node count.</summary>
    public IReadOnlyList<int> Nodes { get; }

    /// <summary>The nodes with the broker role (a client listener).</summary>
    public IReadOnlyList<int> BrokerNodes { get; }

    public IEnumerable<int> RunningNodes => Nodes.Where(IsRunning);

    public bool IsRunning(int node) => _processes[node - 1] is { HasExited: false };

    public string Bootstrap(int node) =>
        _clientPorts[node - 1] > 0 ? $"127.0.0.1:{_clientPorts[node - 1]}" : throw new InvalidOperationException($"Node {node} is controller-only.");

    /// <summary>A controller-role node's CONTROLLER listener.</summary>
    public IPEndPoint ControllerEndpoint(int node) =>
        _controllerPorts[node - 1] > 0 ? new IPEndPoint(IPAddress.Loopback, _controllerPorts[node - 1]) : throw new InvalidOperationException($"Node {node} is broker-only.");

    /// <summary>A node's log.dirs (one directory).</summary>
    public string LogDir(int node) => Path.Combine(NodeDir(node), "logs");

    /// <summary>Formats and starts three combined nodes with the fault-test settings plus <paramref name="overrides"/>, and waits until all are registered.</summary>
    public static Task<ProcessCluster> StartAsync(ITestOutputHelper output, params (string Key, string Value)[] overrides) =>
        StartAsync(new ProcessCluster(output, controllerOnly: 0, brokerOnly: 0, combined: 3), overrides);

    /// <summary>
    /// Formats and starts <paramref name="controllers"/> controller-only nodes (ids 1..) and <paramref name="brokers"/>
    /// broker-only nodes (the ids after them), and waits until every broker is registered.
    /// </summary>
    public static Task<ProcessCluster> StartSplitAsync(ITestOutputHelper output, int controllers, int brokers, params (string Key, string Value)[] overrides) =>
        StartAsync(new ProcessCluster(output, controllers, brokers, combined: 0), overrides);

    /// <summary>
    /// Three combined nodes of a dynamic quorum, as Kafka 4's quickstart sets one up: <c>controller.quorum.bootstrap.servers</c>
    /// instead of voters, storage formatted with <c>--initial-controllers</c> (each node's metadata directory id listed).
    /// </summary>
    public static Task<ProcessCluster> StartDynamicQuorumAsync(ITestOutputHelper output, params (string Key, string Value)[] overrides) =>
        StartAsync(new ProcessCluster(output, controllerOnly: 0, brokerOnly: 0, combined: 3) { _initialControllerDirs = [] }, overrides);

    /// <summary>
    /// Three combined nodes of a dynamic quorum grown as Kafka 4 documents it: node 1 formatted with <c>--standalone</c>
    /// (the only voter), nodes 2 and 3 with <c>--no-initial-controllers</c> (observers until added with
    /// <c>metadata-quorum add-controller</c>); every node lists all three controllers as bootstrap servers.
    /// </summary>
    public static Task<ProcessCluster> StartStandaloneQuorumAsync(ITestOutputHelper output, params (string Key, string Value)[] overrides) =>
        StartAsync(new ProcessCluster(output, controllerOnly: 0, brokerOnly: 0, combined: 3) { _standaloneFirst = true }, overrides);

    /// <summary>A node's server.properties (as add-controller's --command-config takes it).</summary>
    public string ConfigFile(int node) => Path.Combine(NodeDir(node), "server.properties");

    /// <summary>Every controller's CONTROLLER listener, host:port,... (a --bootstrap-controller value).</summary>
    public string BootstrapControllers =>
        string.Join(',', Nodes.Where(n => _controllerPorts[n - 1] > 0).Select(n => $"127.0.0.1:{_controllerPorts[n - 1]}"));

    /// <summary>Runs <c>kafka-broker</c> with <paramref name="arguments"/> (a tool, not a node) and returns its result.</summary>
    public Task<ProcessResult> RunToolAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(BrokerProcess.DotnetHost(), [BrokerProcess.BrokerDll(), .. arguments], TimeSpan.FromSeconds(90), _output);

    private static async Task<ProcessCluster> StartAsync(ProcessCluster cluster, (string Key, string Value)[] overrides)
    {
        try
        {
            var clusterId = Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            await Task.WhenAll(cluster.Nodes.Select(node => cluster.FormatAsync(node, clusterId, overrides)));

            // Together: a lone node cannot elect itself a quorum leader.
            foreach (var node in cluster.Nodes)
            {
                cluster.Start(node);
            }

            await cluster.WaitForBrokersAsync(cluster.BrokerNodes);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a node's process (again) on its formatted log dir; <see cref="WaitForBrokersAsync"/> says when it is back.</summary>
    public void Start(int node)
    {
        if (IsRunning(node))
        {
            throw new InvalidOperationException($"Node {node} is already running.");
        }

        _processes[node - 1]?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        var port = _clientPorts[node - 1] > 0 ? _clientPorts[node - 1] : _controllerPorts[node - 1];
        _processes[node - 1] = BrokerProcess.StartWithConfig(ConfigFile(node), port, Path.Combine(NodeDir(node), "broker.log"), _output);
    }

    /// <summary>SIGKILL: no flush, no controlled shutdown; the controller notices only when the session times out.</summary>
    public async Task KillAsync(int node)
    {
        var process = Process(node);
        await process.KillAsync(TimeSpan.FromSeconds(30));
        _output.WriteLine($"{Now} node {node} (pid {process.Pid}) SIGKILLed");
    }

    public async Task TerminateAsync(int node)
    {
        await Process(node).TerminateAsync(_output, TimeSpan.FromSeconds(60));
        _output.WriteLine($"{Now} node {node} exited after SIGTERM");
    }

    public async Task SuspendAsync(int node)
    {
        await Process(node).SuspendAsync(_output);
        _output.WriteLine($"{Now} node {node} SIGSTOPped");
    }

    public async Task ResumeAsync(int node)
    {
        await Process(node).ResumeAsync(_output);
        _output.WriteLine($"{Now} node {node} SIGCONTinued");
    }

    /// <summary>Polls <paramref name="condition"/> every 200 ms; fails with <paramref name="what"/> and every node's output tail.</summary>
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
            // A node still starting refuses connections to its listeners (KafkaConnectionException from raw requests).
            catch (Exception e) when (e is KafkaException or IOException or TimeoutException or SocketException or OperationCanceledException
                or Broker.Cluster.Network.KafkaConnectionException)
            {
                last = e;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:F0} s waiting until {what} (last error: {last?.Message ?? "none"}).{Environment.NewLine}{Diagnostics()}");
            }

            await Task.Delay(200);
        }
    }

    public Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>Waits until Metadata lists every one of <paramref name="nodes"/> (registered and unfenced).</summary>
    public Task WaitForBrokersAsync(IEnumerable<int> nodes)
    {
        var wanted = nodes.ToArray();
        return WaitUntilAsync(() =>
        {
            var brokers = _admin.GetMetadata(TimeSpan.FromSeconds(5)).Brokers.Select(b => b.BrokerId).ToHashSet();
            return wanted.All(brokers.Contains);
        }, $"Metadata lists brokers {string.Join(',', wanted)}");
    }

    /// <summary>
    /// The partition as the Metadata API describes it now (from whichever broker answers). Brokers apply a new topic a
    /// moment apart, so one that has not yet (UNKNOWN_TOPIC_OR_PART) is asked again, for up to five seconds.
    /// </summary>
    public PartitionMetadata Partition(string topic, int partition)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var metadata = _admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
            var topicMetadata = metadata.Topics.Single(t => t.Topic == topic);
            if (topicMetadata.Error.Code == ErrorCode.UnknownTopicOrPart && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(100);
                continue;
            }

            if (topicMetadata.Error.IsError)
            {
                throw new KafkaException(topicMetadata.Error);
            }

            return topicMetadata.Partitions.Single(p => p.PartitionId == partition);
        }
    }

    /// <summary>Waits until the partition has a leader that satisfies <paramref name="accept"/> and is a running node; returns it.</summary>
    public async Task<int> WaitForLeaderAsync(string topic, int partition, Func<int, bool> accept, string what)
    {
        var leader = -1;
        await WaitUntilAsync(() =>
        {
            leader = Partition(topic, partition).Leader;
            return leader > 0 && IsRunning(leader) && accept(leader);
        }, $"{topic}-{partition} has {what}");
        return leader;
    }

    /// <summary>Waits until <paramref name="node"/> is in the partition's ISR.</summary>
    public Task WaitForInSyncAsync(string topic, int partition, int node) =>
        WaitUntilAsync(() => Partition(topic, partition).InSyncReplicas.Contains(node), $"node {node} is in the ISR of {topic}-{partition}");

    /// <summary>Waits until every partition of the topic has a leader and all its replicas in the ISR.</summary>
    public Task WaitForFullIsrAsync(string topic, int partitions) =>
        WaitUntilAsync(() =>
        {
            var metadata = _admin.GetMetadata(topic, TimeSpan.FromSeconds(5)).Topics.Single(t => t.Topic == topic);
            return !metadata.Error.IsError && metadata.Partitions.Count == partitions
                && metadata.Partitions.All(p => p.Leader > 0 && p.InSyncReplicas.Length == p.Replicas.Length);
        }, $"every partition of {topic} has a leader and a full ISR");

    public async Task CreateTopicAsync(string topic, int partitions, short replicationFactor = ReplicationFactor)
    {
        await _admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = replicationFactor }],
            new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(30), OperationTimeout = TimeSpan.FromSeconds(30) })
            .WaitAsync(TimeSpan.FromSeconds(40));
        await WaitForFullIsrAsync(topic, partitions);
    }

    /// <summary>
    /// Creates a topic once the cluster can: after a failover or restart the client may still name a dead controller
    /// (NOT_CONTROLLER), restarted brokers stay fenced until they catch up (INVALID_REPLICATION_FACTOR), and a forwarded
    /// creation may time out; an earlier attempt that committed without its answer shows as TOPIC_ALREADY_EXISTS.
    /// </summary>
    public async Task CreateTopicEventuallyAsync(string topic, int partitions, short replicationFactor = ReplicationFactor)
    {
        await WaitUntilAsync(async () =>
        {
            try
            {
                await _admin.CreateTopicsAsync(
                    [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = replicationFactor }],
                    new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10), OperationTimeout = TimeSpan.FromSeconds(10) })
                    .WaitAsync(TimeSpan.FromSeconds(20));
                return true;
            }
            catch (CreateTopicsException e) when (e.Results.Single().Error.Code == ErrorCode.TopicAlreadyExists)
            {
                return true;
            }
            catch (CreateTopicsException e) when (e.Results.Single().Error.Code is ErrorCode.NotController or ErrorCode.InvalidReplicationFactor or ErrorCode.RequestTimedOut)
            {
                return false;
            }
        }, $"topic {topic} is created");
        await WaitForFullIsrAsync(topic, partitions);
    }

    /// <summary>
    /// Waits until a running node answers DescribeQuorum as the quorum leader (followers refuse it with
    /// NOT_LEADER_OR_FOLLOWER) in an epoch <paramref name="accept"/> takes; returns that node and epoch.
    /// </summary>
    public async Task<(int Leader, int Epoch)> WaitForQuorumLeaderAsync(Func<int, int, bool> accept, string what)
    {
        (int Leader, int Epoch) found = (-1, -1);
        await WaitUntilAsync(async () =>
        {
            foreach (var node in RunningNodes.Where(n => _controllerPorts[n - 1] > 0).ToArray())
            {
                var partition = (await KafkaRequests.DescribeQuorumAsync(ControllerEndpoint(node))).Topics[0].Partitions[0];
                if (partition.ErrorCode == 0 && partition.LeaderId == node && accept(node, partition.LeaderEpoch))
                {
                    found = (node, partition.LeaderEpoch);
                    return true;
                }
            }

            return false;
        }, $"a running node answers DescribeQuorum as {what}");
        return found;
    }

    /// <summary>Sends one request to a node's client listener (for APIs Confluent.Kafka has no call for).</summary>
    public Task<TResponse> SendAsync<TResponse>(int node, IApiMessage request, short version)
        where TResponse : IApiMessage, new() =>
        KafkaRequests.SendAsync<TResponse>(new IPEndPoint(IPAddress.Loopback, _clientPorts[node - 1] > 0 ? _clientPorts[node - 1] : throw new InvalidOperationException($"Node {node} is controller-only.")), request, version);

    /// <summary>
    /// One Produce v9 (acks=-1, 3 s timeout) of a one-record batch straight to <paramref name="node"/>, bypassing the
    /// client's leader lookup and retries: the partition's error code exactly as that broker answers.
    /// </summary>
    public async Task<ErrorCode> ProduceRawAsync(int node, string topic, int partition, string value)
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes(value));
        var batch = new ArrayBufferWriter<byte>();
        builder.WriteTo(batch);
        var request = new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 3000,
            TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new() { Index = partition, Records = batch.WrittenMemory.ToArray() }] }],
        };
        var response = await SendAsync<ProduceResponse>(node, request, 9);
        return (ErrorCode)response.Responses[0].PartitionResponses[0].ErrorCode;
    }

    /// <summary>The last lines of every node's output, for failure messages.</summary>
    public string Diagnostics()
    {
        var text = new StringBuilder();
        foreach (var node in Nodes)
        {
            var process = _processes[node - 1];
            var state = process is null ? "never started" : process.HasExited ? $"exited ({process.ExitCode})" : "running";
            text.AppendLine(CultureInfo.InvariantCulture, $"--- node {node} ({state}), output in {Path.Combine(NodeDir(node), "broker.log")} ---");
            text.AppendLine(process?.Tail);
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        foreach (var process in _processes)
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }

        if (Environment.GetEnvironmentVariable("FAULT_KEEP_DIR") is { Length: > 0 })
        {
            _output.WriteLine($"kept {_dir.Path}");
            return;
        }

        _dir.Dispose();
    }

    private static string Now => DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private BrokerProcess Process(int node) =>
        _processes[node - 1] is { HasExited: false } process ? process : throw new InvalidOperationException($"Node {node} is not running.");

    private string NodeDir(int node) => Path.Combine(_dir.Path, $"node-{node}");


    private async Task FormatAsync(int node, string clusterId, (string Key, string Value)[] overrides)
    {
        Directory.CreateDirectory(NodeDir(node));
        var controllers = Nodes.Where(n => _controllerPorts[n - 1] > 0).ToArray();
        var voters = string.Join(',', controllers.Select(n => $"{n}@127.0.0.1:{_controllerPorts[n - 1]}"));
        var settings = FaultSettings.For(node, clusterId, _clientPorts[node - 1], _controllerPorts[node - 1], voters, LogDir(node));
        List<string> arguments = [BrokerProcess.BrokerDll(), "storage", "format", "--config", ConfigFile(node), "--cluster-id", clusterId];
        if (_initialControllerDirs is { } dirs)
        {
            settings.Remove("controller.quorum.voters");
            settings["controller.quorum.bootstrap.servers"] = string.Join(',', controllers.Select(n => $"127.0.0.1:{_controllerPorts[n - 1]}"));
            lock (dirs)
            {
                foreach (var controller in controllers)
                {
                    dirs.TryAdd(controller, LogDirFormat.NewUuid(Guid.NewGuid));
                }

                if (_controllerPorts[node - 1] > 0)
                {
                    arguments.AddRange(["--initial-controllers", string.Join(',', controllers.Select(n => $"{n}@127.0.0.1:{_controllerPorts[n - 1]}:{dirs[n]}"))]);
                }
            }
        }

        if (_standaloneFirst)
        {
            settings.Remove("controller.quorum.voters");
            settings["controller.quorum.bootstrap.servers"] = string.Join(',', controllers.Select(n => $"127.0.0.1:{_controllerPorts[n - 1]}"));
            arguments.Add(node == 1 ? "--standalone" : "--no-initial-controllers");
        }

        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        await File.WriteAllLinesAsync(ConfigFile(node), settings.Select(s => $"{s.Key}={s.Value}"));
        var format = await ProcessRunner.RunAsync(BrokerProcess.DotnetHost(), arguments, TimeSpan.FromSeconds(60), _output);
        Assert.True(format.ExitCode == 0, $"storage format of node {node} failed: {format.Describe()}");
    }

    /// <summary>The test output without librdkafka's chatter about connections to nodes a test killed on purpose. Thread-safe.</summary>
    private sealed class QuietOutput(ITestOutputHelper inner) : ITestOutputHelper
    {
        public void WriteLine(string message)
        {
            if (!message.Contains("Connection refused", StringComparison.Ordinal) && !message.Contains("Connect to ipv4", StringComparison.Ordinal))
            {
                TestOutput.TryWriteLine(inner, message);
            }
        }

        public void WriteLine(string format, params object[] args) => WriteLine(string.Format(CultureInfo.InvariantCulture, format, args));
    }
}
