using System.Globalization;
using System.Text.Json;
using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using EndToEnd.Tests.Infrastructure;

namespace EndToEnd.Tests.Cluster;

/// <summary>
/// A client container on the cluster's network running the broker image's <c>verifiable-producer</c> (idempotent,
/// acks=all; value n to partition n % partitions) until stopped, and what its JSON lines say was acknowledged at which
/// offset. The log is read incrementally: docker logs only grow, so each refresh parses the complete lines past the
/// last one read. Thread-safe (one lock over the parsed state).
/// </summary>
internal sealed class VerifiableProducerContainer : IAcknowledgedSequences, IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(2);

    private readonly BrokerContainer _container;
    private readonly int _partitions;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Offset>[] _acknowledged;
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private int _consumed;
    private long _acknowledgedCount;
    private JsonElement? _toolData;

    private VerifiableProducerContainer(BrokerContainer container, int partitions)
    {
        _container = container;
        _partitions = partitions;
        _acknowledged = [.. Enumerable.Range(0, partitions).Select(_ => new Dictionary<long, Offset>())];
    }

    /// <summary>The tool's closing <c>tool_data</c> line (sent, acked, failed), once it has stopped.</summary>
    public JsonElement? ToolData
    {
        get
        {
            lock (_lock)
            {
                return _toolData;
            }
        }
    }

    public static Task<VerifiableProducerContainer> StartAsync(ContainerCluster cluster, string topic, int partitions, int recordsPerSecond) =>
        StartAsync(cluster.Network.Name, cluster.InternalBootstrapServers, topic, partitions, recordsPerSecond);

    /// <summary>Starts the producer on the Docker network <paramref name="network"/>, bootstrapping from <paramref name="bootstrapServers"/> as seen there.</summary>
    public static async Task<VerifiableProducerContainer> StartAsync(string network, string bootstrapServers, string topic, int partitions, int recordsPerSecond)
    {
        var container = new BrokerContainerBuilder($"producer-{Guid.NewGuid().ToString("N")[..6]}")
            .WithNetwork(network)
            .WithCommand(
                "verifiable-producer", "--bootstrap-server", bootstrapServers, "--topic", topic,
                "--partitions", partitions.ToString(CultureInfo.InvariantCulture), "--throughput", recordsPerSecond.ToString(CultureInfo.InvariantCulture),
                // Retried across every fault the test injects: a record is only given up after two minutes.
                "--producer-property", "message.timeout.ms=120000",
                "--producer-property", "request.timeout.ms=10000",
                "--producer-property", "topic.metadata.refresh.interval.ms=1000")
            .Build();
        var producer = new VerifiableProducerContainer(container, partitions);
        await container.StartAsync();
        return producer;
    }

    public int PartitionOf(long sequence) => (int)(sequence % _partitions);

    public Dictionary<long, Offset> Acknowledged(int partition)
    {
        lock (_lock)
        {
            return new Dictionary<long, Offset>(_acknowledged[partition]);
        }
    }

    public int AcknowledgedCount(int partition)
    {
        lock (_lock)
        {
            return _acknowledged[partition].Count;
        }
    }

    public string Summary()
    {
        lock (_lock)
        {
            var failures = string.Join(", ", _failures.Select(f => $"{f.Key} x{f.Value}"));
            return $"acknowledged {_acknowledgedCount}, failed {_failures.Values.Sum()} ({(failures.Length == 0 ? "none" : failures)}){(_toolData is { } data ? $", tool_data {data}" : "")}";
        }
    }

    /// <summary>Waits until partition <paramref name="partition"/> has <paramref name="more"/> acknowledgements more than now.</summary>
    public async Task WaitForProgressAsync(IWaitingCluster cluster, int partition, int more, string why)
    {
        await RefreshAsync();
        var target = AcknowledgedCount(partition) + more;
        await cluster.WaitUntilAsync(async () =>
        {
            await RefreshAsync();
            return AcknowledgedCount(partition) >= target;
        }, $"the producer gets {more} more acknowledgements from partition {partition} ({why}; {Summary()})");
        cluster.Log($"producer: {Summary()}");
    }

    /// <summary>Sends SIGTERM (the tool stops sending and flushes), waits for the exit and reads the last lines.</summary>
    public async Task StopAsync(IWaitingCluster cluster)
    {
        await E2EDocker.RunAsync("kill", "--signal", "TERM", _container.Name);
        var exitCode = await _container.WaitForExitAsync(StopTimeout);
        var stderr = await RefreshAsync();
        cluster.Log($"producer stopped with exit code {exitCode}: {Summary()}");
        Assert.True(exitCode == 0, $"verifiable-producer exited with {exitCode} ({Summary()}); stderr: {stderr}");
    }

    public ValueTask DisposeAsync() => _container.DisposeAsync();

    /// <summary>Parses the new lines on the tool's stdout; returns its stderr.</summary>
    private async Task<string> RefreshAsync()
    {
        var logs = await ProcessRunner.RunAsync("docker", ["logs", _container.Name], TimeSpan.FromMinutes(1));
        Assert.True(logs.ExitCode == 0, $"docker logs {_container.Name} failed: {logs.Describe()}");
        var stdout = logs.StandardOutput;
        lock (_lock)
        {
            var end = stdout.LastIndexOf('\n');
            if (end < _consumed)
            {
                return logs.StandardError;
            }

            foreach (var line in stdout.AsSpan(_consumed, end - _consumed).ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Parse(line);
            }

            _consumed = end + 1;
        }

        return logs.StandardError;
    }

    private void Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        switch (root.GetProperty("name").GetString())
        {
            case "producer_send_success":
                var sequence = long.Parse(root.GetProperty("value").GetString()!, NumberStyles.None, CultureInfo.InvariantCulture);
                _acknowledged[root.GetProperty("partition").GetInt32()].Add(sequence, new Offset(root.GetProperty("offset").GetInt64()));
                _acknowledgedCount++;
                break;
            case "producer_send_error":
                var code = root.GetProperty("exception").GetString()!;
                _failures[code] = _failures.GetValueOrDefault(code) + 1;
                break;
            case "tool_data":
                _toolData = root.Clone();
                break;
        }
    }
}
