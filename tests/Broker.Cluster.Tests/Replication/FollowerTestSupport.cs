using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Cluster.Tests.Replication;

/// <summary>A clock the test moves by hand. Not thread-safe.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    public long NowMs => _now.ToUnixTimeMilliseconds();

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A log manager on a private temp dir, removed on dispose. Owned by one test.</summary>
internal sealed class TempLogs : IDisposable
{
    public static readonly Guid TopicId = new("6b2f3a4e-0000-4000-8000-000000000001");

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "follower-tests-" + Guid.NewGuid().ToString("N"));

    public TempLogs(TimeProvider time)
    {
        Directory.CreateDirectory(_dir);
        Manager = LogManager.Open(new LogManagerOptions
        {
            LogDirs = [_dir],
            NodeId = 2,
            DefaultConfig = LogConfig.Default with { FileDeleteDelayMs = 0 },
        }, time);
    }

    public LogManager Manager { get; }

    public Partition NewPartition(string topic = "t", int index = 0)
    {
        var log = Manager.GetOrCreateLog(topic, index, TopicId, LogConfig.Default with { FileDeleteDelayMs = 0 });
        return new Partition(topic, TopicId, index, log, log.Config);
    }

    public void Dispose()
    {
        Manager.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp dir left behind does not affect other tests.
        }
    }
}

/// <summary>Record batches as a leader would send them: offsets and leader epochs already assigned. Stateless.</summary>
internal static class LeaderBatches
{
    /// <summary>One batch of <paramref name="count"/> records from <paramref name="baseOffset"/> in <paramref name="epoch"/>.</summary>
    public static byte[] Batch(long baseOffset, int count, int epoch)
    {
        using var builder = new RecordBatchBuilder { BaseOffset = baseOffset, PartitionLeaderEpoch = epoch };
        for (var i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, [(byte)(baseOffset + i)]);
        }

        var output = new System.Buffers.ArrayBufferWriter<byte>();
        builder.WriteTo(output);
        return output.WrittenSpan.ToArray();
    }

    public static byte[] Concat(params byte[][] batches) => [.. batches.SelectMany(b => b)];
}

/// <summary>
/// A <see cref="ReplicaFetcher"/> for node 2 following leader 1 (broker epoch 42) against a <see cref="ScriptedLeader"/>, on a
/// fake clock and temp logs; started before each test and disposed after it. Not thread-safe: one test drives it.
/// </summary>
public abstract class ScriptedFetcherTestBase : IAsyncLifetime
{
    protected const int Backoff = 1_000;

    protected ScriptedFetcherTestBase(ReplicationQuota? throttle = null)
    {
        Logs = new TempLogs(Time);
        Fetcher = new ReplicaFetcher(1, 0, new ReplicaFetcherOptions(NodeId: 2, BackoffMs: Backoff, Throttle: throttle), Leader, () => 42, Time,
            NullLogger<ReplicaFetcher>.Instance);
    }

    internal FakeTimeProvider Time { get; } = new();

    internal TempLogs Logs { get; }

    internal ScriptedLeader Leader { get; } = new();

    internal ReplicaFetcher Fetcher { get; }

    public Task InitializeAsync()
    {
        Fetcher.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Fetcher.DisposeAsync();
        Logs.Dispose();
    }

    internal static FetchResponse.PartitionData Data(int partition, byte[]? records, long highWatermark) => new()
    {
        PartitionIndex = partition,
        HighWatermark = highWatermark,
        LogStartOffset = 0,
        Records = records,
    };

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in 30 s");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Moves the fake clock on one backoff at a time until the fetcher sends its next request. The loop computes its wait
    /// before it arms the fake timer, so an advance landing between the two would be missed; the first advance is enough
    /// whenever the timer was already armed.
    /// </summary>
    internal async Task AdvanceUntilFetchAsync(string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Leader.Pending == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} in 30 s");
            Time.Advance(TimeSpan.FromMilliseconds(Backoff));
            await Task.Delay(20);
        }
    }
}

/// <summary>The metadata records of topic "t" with one partition on replicas 1, 2 and 3, all in sync. Stateless.</summary>
internal static class TestTopic
{
    public static TopicRecord Topic() => new() { Name = "t", TopicId = TempLogs.TopicId };

    public static PartitionRecord Partition(int leader, int leaderEpoch = 0) => new()
    {
        PartitionId = 0, TopicId = TempLogs.TopicId, Replicas = [1, 2, 3], Isr = [1, 2, 3], Leader = leader, LeaderEpoch = leaderEpoch, PartitionEpoch = 0,
    };
}

/// <summary>
/// The metadata log as a replica manager sees it: records committed one after another, each commit applied as a new
/// image. Owned by one test.
/// </summary>
internal sealed class ImageCommits(ReplicaManager replicas)
{
    private long _offset;

    public MetadataImage Image { get; private set; } = MetadataImage.Empty("cluster", 1);

    public void Commit(params IApiMessage[] records)
    {
        var builder = new MetadataImageBuilder(Image);
        foreach (var record in records)
        {
            builder.Apply(record, ++_offset);
        }

        Image = builder.Build();
        replicas.Apply(Image);
    }
}
