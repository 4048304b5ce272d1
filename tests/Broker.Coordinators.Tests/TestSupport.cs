using Broker.Coordinators.Groups;
using Broker.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Coordinators.Tests;

/// <summary>A clock that only moves when told. Not thread-safe; tests drive it from one thread.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    public long NowMs => _now.ToUnixTimeMilliseconds();

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(long ms) => _now = _now.AddMilliseconds(ms);
}

/// <summary>An in-memory __consumer_offsets: a list of records per partition. Thread-safe (one lock).</summary>
internal sealed class InMemoryGroupLog : IGroupLog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, List<GroupLogRecord>> _partitions = [];

    public InMemoryGroupLog(int partitionCount = 1)
    {
        PartitionCount = partitionCount;
    }

    public int PartitionCount { get; }

    public int Appends { get; private set; }

    public bool TopicExists { get; set; } = true;

    public int LeaderOf(int partition) => TopicExists ? 1 : -1;

    public Task<bool> EnsureTopicAsync(CancellationToken cancellationToken)
    {
        var existed = TopicExists;
        TopicExists = true;
        return Task.FromResult(existed);
    }

    public ErrorCode Append(int partition, IReadOnlyList<GroupLogRecord> records, long nowMs)
    {
        lock (_lock)
        {
            Appends++;
            if (!_partitions.TryGetValue(partition, out var list))
            {
                _partitions[partition] = list = [];
            }

            list.AddRange(records);
            return ErrorCode.None;
        }
    }

    public IEnumerable<GroupLogRecord> ReadAll(int partition)
    {
        lock (_lock)
        {
            return _partitions.TryGetValue(partition, out var list) ? list.ToArray() : [];
        }
    }

    public List<GroupLogRecord> Records(int partition = 0) => ReadAll(partition).ToList();
}

/// <summary>A coordinator over an in-memory log with a manual clock, every partition loaded, and call helpers.</summary>
internal sealed class GroupTestBed
{
    public const string ConsumerType = "consumer";

    public GroupTestBed(GroupCoordinatorOptions? options = null, InMemoryGroupLog? log = null)
    {
        Log = log ?? new InMemoryGroupLog();
        Coordinator = new GroupCoordinator(options ?? new GroupCoordinatorOptions { InitialRebalanceDelayMs = 0 }, Log,
            (topic, partition) => topic == "t" && partition is >= 0 and < 6, Time, NullLogger.Instance);
        for (var p = 0; p < Log.PartitionCount; p++)
        {
            Coordinator.Load(p);
        }
    }

    public ManualTimeProvider Time { get; } = new();

    public InMemoryGroupLog Log { get; }

    public GroupCoordinator Coordinator { get; }

    public static GroupProtocol[] Protocols(params string[] names) => names.Select(n => new GroupProtocol(n, [1, 2, (byte)n.Length])).ToArray();

    public Task<JoinGroupResult> Join(string memberId, string? instanceId = null, int session = 10_000, int rebalance = 30_000, string group = "g",
        IReadOnlyList<GroupProtocol>? protocols = null, bool requireKnown = true, string clientId = "client") =>
        Coordinator.JoinGroupAsync(new JoinGroupCall(group, memberId, instanceId, clientId, "/127.0.0.1", session, rebalance, ConsumerType,
            protocols ?? Protocols("range"), requireKnown), CancellationToken.None);

    /// <summary>The KIP-394 two-step join of a new dynamic member; returns the pending join task.</summary>
    public async Task<(string MemberId, Task<JoinGroupResult> Join)> JoinNew(string group = "g", int session = 10_000, int rebalance = 30_000)
    {
        var first = await Join("", group: group, session: session, rebalance: rebalance);
        Assert.Equal(ErrorCode.MemberIdRequired, first.Error);
        return (first.MemberId, Join(first.MemberId, group: group, session: session, rebalance: rebalance));
    }

    public Task<SyncGroupResult> Sync(string memberId, int generation, Dictionary<string, byte[]>? assignments = null, string? instanceId = null, string group = "g") =>
        Coordinator.SyncGroupAsync(new SyncGroupCall(group, generation, memberId, instanceId, ConsumerType, "range", assignments ?? []), CancellationToken.None);

    public void Advance(long ms)
    {
        Time.Advance(ms);
        Coordinator.Tick(Time.NowMs);
    }

    /// <summary>Two members in a Stable group: returns their ids (leader first) and the generation.</summary>
    public async Task<(string Leader, string Follower, int Generation)> StableGroupOfTwo()
    {
        var (a, joinA) = await JoinNew();
        var resultA = await joinA;
        Assert.Equal(ErrorCode.None, resultA.Error);
        await Sync(a, resultA.GenerationId, new() { [a] = [1] });
        var (b, joinB) = await JoinNew();
        var rejoinA = Join(a);
        var (ra, rb) = (await rejoinA, await joinB);
        Assert.Equal(ra.GenerationId, rb.GenerationId);
        var leader = ra.Leader;
        var follower = leader == a ? b : a;
        var followerSync = Sync(follower, ra.GenerationId);
        var leaderSync = await Sync(leader, ra.GenerationId, new() { [leader] = [7], [follower] = [8] });
        Assert.Equal(ErrorCode.None, leaderSync.Error);
        Assert.Equal(ErrorCode.None, (await followerSync).Error);
        return (leader, follower, ra.GenerationId);
    }
}
