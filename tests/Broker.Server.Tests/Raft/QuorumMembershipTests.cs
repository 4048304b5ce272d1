using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Network;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Raft;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Server.Tests.Raft;

/// <summary>
/// The broker side of KRaft membership driven step by step, without sockets: one in-memory metadata store and one
/// controller lifecycle stand for the quorum; a node that is not the leader reaches it through a fake channel that
/// calls the same lifecycle, as BrokerRegistration / BrokerHeartbeat would.
/// </summary>
public sealed class QuorumMembershipTests : IAsyncDisposable
{
    private const string ClusterId = "membership-test-000000A";
    private const long HeartbeatIntervalMs = 500;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryMetadataStore _store = new(MetadataImage.Empty(ClusterId, 1));
    private readonly TopicController _topics;
    private readonly BrokerLifecycle _lifecycle;
    private readonly FakeChannel _channel;
    private readonly List<QuorumMembership> _members = [];
    private int _quorumLeader = 1;
    private RaftRole _leaderRole = RaftRole.Leader;

    public QuorumMembershipTests()
    {
        _store.CommitAsync(MetadataFeatures.BootstrapRecords(_store.Image), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _topics = new TopicController(_store, new TopicControllerOptions(1, 1, true) { PlacementRandom = new Random(7) });
        _lifecycle = new BrokerLifecycle(_topics, new BrokerLifecycleOptions(_time));
        _channel = new FakeChannel(_lifecycle, () => _quorumLeader);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
        {
            await member.DisposeAsync();
        }
    }

    private QuorumMembership Member(int nodeId, bool broker = true, ActiveControllerTasks? controllerTasks = null, Func<long>? majorityContactMs = null)
    {
        var member = new QuorumMembership(_store, () => (_quorumLeader == nodeId ? _leaderRole : RaftRole.Follower, 1, _quorumLeader),
            _channel, _lifecycle, controllerTasks, HeartbeatIntervalMs, nodeId,
            [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9090 + nodeId, 0)], rack: null, broker ? _ => { } : null, _time, NullLogger.Instance)
        {
            MajorityContactMs = majorityContactMs,
        };
        _members.Add(member);
        return member;
    }

    private async Task<QuorumMembership[]> RegisteredAsync(params int[] nodes)
    {
        var members = nodes.Select(n => Member(n)).ToArray();
        foreach (var member in members)
        {
            await member.StepAsync(CancellationToken.None);
            Assert.True(member.BrokerEpoch >= 0);
        }

        return members;
    }

    private async Task CreateTopicLedByAsync(string name, params int[] replicas)
    {
        var result = await _topics.CreateTopicsAsync([new NewTopic(name, -1, -1, new Dictionary<int, IReadOnlyList<int>> { [0] = replicas }, new Dictionary<string, string?>())],
            false, CancellationToken.None);
        Assert.Equal(ErrorCode.None, Assert.Single(result).Error);
    }

    /// <summary>One heartbeat interval later, every member takes one step.</summary>
    private async Task RoundAsync(params QuorumMembership[] members)
    {
        _time.Advance(TimeSpan.FromMilliseconds(HeartbeatIntervalMs));
        foreach (var member in members)
        {
            await member.StepAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task StepAsync_ShutdownRequestedOnQuorumLeader_LeadershipsMoveThenShutdownGranted()
    {
        var members = await RegisteredAsync(1, 2);
        await CreateTopicLedByAsync("t", 1, 2);

        Assert.True(members[0].BeginControlledShutdown());
        await members[0].StepAsync(CancellationToken.None);

        // The first WantShutDown heartbeat went at once: leadership moved, but broker 2 has not yet reported seeing it.
        var partition = _store.Image.TopicsByName["t"].Partitions[0];
        Assert.Equal(2, partition.Leader);
        Assert.True(_store.Image.Brokers[1].InControlledShutdown);
        Assert.False(members[0].ShutdownDone.IsCompleted);

        await RoundAsync(members[1], members[0]);

        Assert.True(members[0].ShutdownDone.IsCompleted);
        Assert.True(await members[0].ShutdownDone);
        Assert.True(_store.Image.Brokers[1].Fenced);
        Assert.False(_store.Image.Brokers[2].Fenced);
    }

    [Fact]
    public async Task StepAsync_ShutdownRequestedOnFollower_WantShutDownHeartbeatsOverTheChannelUntilShouldShutDown()
    {
        var members = await RegisteredAsync(1, 2);
        await CreateTopicLedByAsync("t", 2, 1);
        _channel.Heartbeats.Clear();

        Assert.True(members[1].BeginControlledShutdown());
        await members[1].StepAsync(CancellationToken.None);
        Assert.Equal(1, _store.Image.TopicsByName["t"].Partitions[0].Leader);
        Assert.False(members[1].ShutdownDone.IsCompleted);

        await RoundAsync(members[0], members[1]);

        Assert.True(members[1].ShutdownDone.IsCompleted);
        Assert.True(await members[1].ShutdownDone);
        Assert.All(_channel.Heartbeats, h => Assert.True(h.WantShutDown));
        Assert.Equal(2, _channel.Heartbeats.Count);
        Assert.True(_store.Image.Brokers[2].Fenced);
        Assert.True(_store.Image.Brokers[2].InControlledShutdown);
    }

    [Fact]
    public async Task StepAsync_ShutdownNotRequested_HeartbeatsOncePerIntervalWithoutWantShutDown()
    {
        var members = await RegisteredAsync(1, 2);
        _channel.Heartbeats.Clear();

        await members[1].StepAsync(CancellationToken.None);
        await RoundAsync(members[1]);
        await members[1].StepAsync(CancellationToken.None);

        Assert.Equal(2, _channel.Heartbeats.Count);
        Assert.All(_channel.Heartbeats, h => Assert.False(h.WantShutDown));
        Assert.False(_store.Image.Brokers[2].InControlledShutdown);
    }

    [Fact]
    public async Task ControlledShutdownAsync_NeverRegisteredOrControllerOnly_ReturnsAtOnceWithoutHeartbeats()
    {
        var unregistered = Member(2);
        var controllerOnly = Member(3, broker: false);

        Assert.True(await unregistered.ControlledShutdownAsync(TimeSpan.FromSeconds(30)));
        Assert.True(await controllerOnly.ControlledShutdownAsync(TimeSpan.FromSeconds(30)));
        Assert.Empty(_channel.Heartbeats);
    }

    [Fact]
    public async Task ControlledShutdownAsync_NoQuorumLeaderForTheGiveUpTime_ReturnsFalse()
    {
        var members = await RegisteredAsync(1, 2);
        _quorumLeader = -1;

        var shutdown = members[1].ControlledShutdownAsync(TimeSpan.FromSeconds(30));
        await members[1].StepAsync(CancellationToken.None);
        _time.Advance(members[1].LeaderlessGiveUp - TimeSpan.FromMilliseconds(1));
        await members[1].StepAsync(CancellationToken.None);
        Assert.False(shutdown.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await members[1].StepAsync(CancellationToken.None);

        Assert.False(await shutdown.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(_channel.Heartbeats, h => h.WantShutDown);
    }

    [Fact]
    public async Task ControlledShutdownAsync_QuorumLeaderCutOffFromItsMajority_GivesUpTheGiveUpTimeAfterTheLastContact()
    {
        var lastContact = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var leader = Member(1, majorityContactMs: () => lastContact);
        await leader.StepAsync(CancellationToken.None);
        var other = (await RegisteredAsync(2))[0];
        // A partition only the leader holds: no other broker can take it, so no controlled shutdown is ever granted.
        await CreateTopicLedByAsync("t", 1);

        // The last voter that fetched stopped; shutting down one heartbeat interval later, the leader has no majority.
        _time.Advance(TimeSpan.FromMilliseconds(HeartbeatIntervalMs + 1));
        var shutdown = leader.ControlledShutdownAsync(TimeSpan.FromSeconds(30));
        await leader.StepAsync(CancellationToken.None);
        Assert.False(shutdown.IsCompleted);
        _time.Advance(leader.LeaderlessGiveUp - TimeSpan.FromMilliseconds(HeartbeatIntervalMs + 2));
        // Check-quorum made it resign meanwhile: still naming itself leader, it leads nothing; the clock keeps running.
        _leaderRole = RaftRole.Resigned;
        await leader.StepAsync(CancellationToken.None);
        Assert.False(shutdown.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await leader.StepAsync(CancellationToken.None);

        Assert.False(await shutdown.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(other.ShutdownDone.IsCompleted);
    }

    [Fact]
    public async Task ControlledShutdownAsync_QuorumLeaderInContactWithItsMajority_KeepsAsking()
    {
        var leader = Member(1, majorityContactMs: () => _time.GetUtcNow().ToUnixTimeMilliseconds());
        await leader.StepAsync(CancellationToken.None);
        await RegisteredAsync(2);
        await CreateTopicLedByAsync("t", 1);

        var shutdown = leader.ControlledShutdownAsync(TimeSpan.FromSeconds(30));
        for (var elapsed = TimeSpan.Zero; elapsed < 2 * leader.LeaderlessGiveUp; elapsed += TimeSpan.FromMilliseconds(HeartbeatIntervalMs))
        {
            await RoundAsync(leader);
        }

        Assert.False(shutdown.IsCompleted);
    }

    [Fact]
    public async Task StepAsync_ShutdownPending_SecondWantShutDownAfter50MsThenEvery250Ms()
    {
        var members = await RegisteredAsync(1, 2);
        await CreateTopicLedByAsync("t", 2);
        _channel.Heartbeats.Clear();

        Assert.True(members[1].BeginControlledShutdown());
        await members[1].StepAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(49));
        await members[1].StepAsync(CancellationToken.None);
        Assert.Single(_channel.Heartbeats);

        // As Kafka's BrokerLifecycleManager: the first refusal is followed 50 ms later, the next ones at the usual pace.
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await members[1].StepAsync(CancellationToken.None);
        Assert.Equal(2, _channel.Heartbeats.Count);
        _time.Advance(TimeSpan.FromMilliseconds(249));
        await members[1].StepAsync(CancellationToken.None);
        Assert.Equal(2, _channel.Heartbeats.Count);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await members[1].StepAsync(CancellationToken.None);

        Assert.Equal(3, _channel.Heartbeats.Count);
        Assert.All(_channel.Heartbeats, h => Assert.True(h.WantShutDown));
        Assert.False(members[1].ShutdownDone.IsCompleted);
    }

    [Fact]
    public async Task StepAsync_RegistersAtARemoteController_DeclaresTheMetadataVersionAndKRaftVersionRanges()
    {
        await RegisteredAsync(1, 2);

        var request = Assert.Single(_channel.Registrations);
        Assert.Equal(2, request.BrokerId);
        Assert.Equal(
            [("kraft.version", (short)0, (short)1), ("metadata.version", MetadataFeatures.MetadataVersionLevel, MetadataFeatures.MetadataVersionLevel)],
            request.Features.Select(f => (f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)).Order());
    }

    [Fact]
    public async Task StepAsync_ShutdownRequestedAfterTheBrokerWasUnregistered_EndsWithoutAGrant()
    {
        var members = await RegisteredAsync(1, 2);
        await CreateTopicLedByAsync("t", 2, 1);
        Assert.Equal(ErrorCode.None, await _lifecycle.UnregisterAsync(2, CancellationToken.None));

        Assert.True(members[1].BeginControlledShutdown());
        await members[1].StepAsync(CancellationToken.None);

        // STALE_BROKER_EPOCH: the unregistration already moved its leadership, so there is nothing left to wait for.
        Assert.True(members[1].ShutdownDone.IsCompleted);
        Assert.False(await members[1].ShutdownDone);
        Assert.Equal(1, _store.Image.TopicsByName["t"].Partitions[0].Leader);
        Assert.Single(_channel.Heartbeats, h => h.BrokerId == 2 && h.WantShutDown);
    }

    [Fact]
    public async Task ControlledShutdownAsync_ControllerNeverAnswers_GivesUpAfterTheBound()
    {
        var members = await RegisteredAsync(1, 2);
        _channel.Heartbeats.Clear();
        _channel.Unreachable = true;

        var shutdown = members[1].ControlledShutdownAsync(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<KafkaConnectionException>(() => members[1].StepAsync(CancellationToken.None));
        Assert.True(Assert.Single(_channel.Heartbeats).WantShutDown);
        Assert.False(shutdown.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.False(await shutdown.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(members[1].ShutdownDone.IsCompleted);
    }

    [Fact]
    public async Task StepAsync_ControllerTasks_RunWhileLeadingAndResetWhenLeadershipMoves()
    {
        var elections = new LeaderElections(_topics, new LeaderElectionOptions(LeaderImbalanceCheckIntervalSeconds: 1));
        var tasks = new ActiveControllerTasks(_lifecycle, elections, _store, _time);
        var controller = Member(1, controllerTasks: tasks);
        var other = (await RegisteredAsync(2))[0];
        await controller.StepAsync(CancellationToken.None);
        await CreateTopicLedByAsync("t", 1, 2);
        await _store.CommitAsync([new Broker.Protocol.Metadata.PartitionChangeRecord { TopicId = _store.Image.TopicsByName["t"].TopicId, PartitionId = 0, Leader = 2 }],
            CancellationToken.None);
        Assert.True(tasks.IsActive);

        _quorumLeader = 2;
        await controller.StepAsync(CancellationToken.None);
        Assert.False(tasks.IsActive);

        // Leading again: the rebalance interval counts from now, then the preferred leader (1) is back.
        _quorumLeader = 1;
        await controller.StepAsync(CancellationToken.None);
        Assert.Equal(2, _store.Image.TopicsByName["t"].Partitions[0].Leader);
        await RoundAsync(other, controller);
        await RoundAsync(other, controller);
        Assert.Equal(1, _store.Image.TopicsByName["t"].Partitions[0].Leader);
    }

    /// <summary>The remote controller: the same lifecycle, reached as over the wire. Owned by one test.</summary>
    private sealed class FakeChannel(BrokerLifecycle lifecycle, Func<int> leader) : IControllerChannel
    {
        public List<BrokerHeartbeatRequest> Heartbeats { get; } = [];

        public List<BrokerRegistrationRequest> Registrations { get; } = [];

        /// <summary>Heartbeats fail as when the controller's listener does not answer.</summary>
        public bool Unreachable { get; set; }

        public async Task<(ErrorCode Error, long BrokerEpoch)> RegisterAsync(int controller, BrokerRegistrationRequest request, CancellationToken cancellationToken)
        {
            Assert.Equal(leader(), controller);
            Registrations.Add(request);
            var result = await lifecycle.RegisterAsync(new BrokerRegistrationRequestInfo(request.BrokerId, request.ClusterId, request.IncarnationId,
                [.. request.Listeners.Select(l => new BrokerEndpoint(l.Name, l.Host, l.Port, l.SecurityProtocol))],
                [.. request.Features.Select(f => (f.Name, f.MinSupportedVersion, f.MaxSupportedVersion))], request.Rack), cancellationToken);
            return (result.Error, result.BrokerEpoch);
        }

        public Task<BrokerHeartbeatResult> HeartbeatAsync(int controller, BrokerHeartbeatRequest request, CancellationToken cancellationToken)
        {
            Assert.Equal(leader(), controller);
            Heartbeats.Add(request);
            if (Unreachable)
            {
                throw new KafkaConnectionException("controller unreachable");
            }

            return lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(request.BrokerId, request.BrokerEpoch, request.CurrentMetadataOffset,
                request.WantFence, request.WantShutDown), cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
