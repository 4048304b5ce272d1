using System.Buffers;
using System.Net;
using Broker.Cluster.Metadata;
using Broker.Cluster.Network;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;
using Broker.Server;
using Broker.Server.Configuration;
using Broker.Storage;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Cluster;

/// <summary>
/// Three brokers (nodes 1-3) in this process on ephemeral 127.0.0.1 ports, each with its own log dir, sharing ONE
/// in-memory metadata store: the stepping stone until the Raft quorum replicates metadata. Node 1 is the image's
/// controller. Brokers can be stopped and restarted on their log dirs; the store (and so the topics) outlives them.
/// Not thread-safe: one test drives it.
/// </summary>
internal sealed class InProcessCluster : IAsyncDisposable
{
    public const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly TestOutputLoggerFactory _loggerFactory;
    private readonly (string Key, string Value)[] _overrides;
    private readonly TempDirectory[] _dirs;
    private readonly RunningBroker?[] _brokers;

    private InProcessCluster(ITestOutputHelper output, int size, (string Key, string Value)[] overrides)
    {
        _output = output;
        _loggerFactory = new TestOutputLoggerFactory(output);
        _overrides = overrides;
        _dirs = [.. Enumerable.Range(1, size).Select(i => new TempDirectory($"cluster-it-{i}-"))];
        _brokers = new RunningBroker?[size];
        Store = new InMemoryMetadataStore(MetadataImage.Empty(ClusterId, controllerId: 1));
    }

    public InMemoryMetadataStore Store { get; }

    /// <summary>Every running broker's bootstrap address.</summary>
    public string BootstrapServers => string.Join(',', _brokers.Where(b => b is not null).Select(b => b!.BootstrapServers));

    public static async Task<InProcessCluster> StartAsync(ITestOutputHelper output, params (string Key, string Value)[] overrides)
    {
        var cluster = new InProcessCluster(output, 3, overrides);
        try
        {
            for (var node = 1; node <= 3; node++)
            {
                await cluster.StartBrokerAsync(node);
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    public RunningBroker Broker(int node) => _brokers[node - 1] ?? throw new InvalidOperationException($"Broker {node} is stopped.");

    public async Task StartBrokerAsync(int node)
    {
        var settings = BrokerFixture.DefaultSettings(_dirs[node - 1].Path);
        settings["node.id"] = node.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["cluster.id"] = ClusterId;
        settings["default.replication.factor"] = "3";
        settings["min.insync.replicas"] = "2";
        settings["offsets.topic.replication.factor"] = "3";
        settings["offsets.topic.num.partitions"] = "1";
        settings["replica.fetch.backoff.ms"] = "200";
        foreach (var (key, value) in _overrides)
        {
            settings[key] = value;
        }

        var config = BrokerConfig.Load(null, new Dictionary<string, string>(), settings, _loggerFactory.CreateLogger("Config"));
        using var cts = new CancellationTokenSource(StartTimeout);
        _brokers[node - 1] = await BrokerHost.StartAsync(config, _loggerFactory, TimeProvider.System, Store, cts.Token).WaitAsync(StartTimeout);
        TestOutput.TryWriteLine(_output, $"broker {node} started on {_brokers[node - 1]!.BootstrapServers}");
    }

    public async Task StopBrokerAsync(int node)
    {
        var broker = _brokers[node - 1];
        _brokers[node - 1] = null;
        if (broker is not null)
        {
            await broker.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            TestOutput.TryWriteLine(_output, $"broker {node} stopped");
        }
    }

    public PartitionInfo PartitionState(string topic, int partition = 0) => Store.Image.TopicsByName[topic].Partitions[partition];

    /// <summary>Moves leadership as the controller does on broker loss: a PartitionChangeRecord (leader epoch + 1).</summary>
    public Task MoveLeaderAsync(string topic, int newLeader, int partition = 0) =>
        Store.CommitAsync([new PartitionChangeRecord
        {
            TopicId = Store.Image.TopicsByName[topic].TopicId,
            PartitionId = partition,
            Leader = newLeader,
        }], CancellationToken.None).AsTask();

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> (default 30 s) passes.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A broker's copy of a partition: every byte from its log start to its log end.</summary>
    public byte[] LogBytes(int node, string topic, int partition = 0)
    {
        var log = Broker(node).Replicas.Get(topic, partition)!.Log;
        return ReadAll(log);
    }

    public static byte[] ReadAll(PartitionLog log)
    {
        var output = new ArrayBufferWriter<byte>();
        var offset = log.LogStartOffset;
        var end = log.LogEndOffset;
        while (offset < end)
        {
            var read = log.Read(offset, 64 * 1024 * 1024, end, minOneBatch: true);
            if (read.Length == 0)
            {
                break;
            }

            var span = output.GetSpan(read.Length)[..read.Length];
            read.CopyTo(span);
            output.Advance(read.Length);
            var position = 0;
            while (position < span.Length)
            {
                offset = RecordBatchHeader.LastOffset(span[position..]) + 1;
                position += RecordBatchHeader.TotalSize(span[position..]);
            }
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>A raw Produce v9 of one batch of <paramref name="count"/> records, for exact error codes.</summary>
    public async Task<ErrorCode> ProduceRawAsync(int node, string topic, short acks, int count, int timeoutMs = 5_000)
    {
        var endPoint = Broker(node).Endpoints[0].EndPoint;
        await using var connection = new KafkaClientConnection(() => endPoint, new KafkaClientOptions("raw-producer"), TimeProvider.System, new Random(1),
            _loggerFactory.CreateLogger("raw-producer"));
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < count; i++)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, [(byte)i]);
        }

        var batch = new ArrayBufferWriter<byte>();
        builder.WriteTo(batch);
        var request = new ProduceRequest
        {
            Acks = acks,
            TimeoutMs = timeoutMs,
            TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new() { Index = 0, Records = batch.WrittenMemory.ToArray() }] }],
        };
        using var response = await connection.SendAsync<ProduceResponse>(request, 9, CancellationToken.None);
        return (ErrorCode)response.Message.Responses[0].PartitionResponses[0].ErrorCode;
    }

    /// <summary>A raw consumer Fetch v12 (replica id -1) from offset 0: the partition's error code.</summary>
    public async Task<ErrorCode> FetchRawAsync(int node, string topic)
    {
        var endPoint = Broker(node).Endpoints[0].EndPoint;
        await using var connection = new KafkaClientConnection(() => endPoint, new KafkaClientOptions("raw-consumer"), TimeProvider.System, new Random(1),
            _loggerFactory.CreateLogger("raw-consumer"));
        var request = new FetchRequest
        {
            MaxWaitMs = 0,
            MinBytes = 0,
            Topics = [new FetchRequest.FetchTopic { Topic = topic, Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        };
        using var response = await connection.SendAsync<FetchResponse>(request, 12, CancellationToken.None);
        return (ErrorCode)response.Message.Responses[0].Partitions[0].ErrorCode;
    }

    public async ValueTask DisposeAsync()
    {
        for (var node = 1; node <= _brokers.Length; node++)
        {
            try
            {
                await StopBrokerAsync(node);
            }
            catch (TimeoutException e)
            {
                TestOutput.TryWriteLine(_output, $"broker {node} did not stop: {e.Message}");
            }
        }

        foreach (var dir in _dirs)
        {
            dir.Dispose();
        }

        _loggerFactory.Dispose();
    }
}
