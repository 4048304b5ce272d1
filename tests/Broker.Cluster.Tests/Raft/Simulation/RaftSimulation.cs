using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Tests.Raft.Simulation;

/// <summary>
/// A deterministic simulation of a Raft quorum (in the spirit of Kafka's RaftEventSimulationTest): one seeded random
/// source, a simulated clock, an event queue, and a network that loses, delays and reorders messages and can be
/// partitioned; nodes crash (losing what they had not flushed) and restart from quorum-state and their flushed log.
/// Safety invariants are checked after every event and throw <see cref="SimulationFailure"/> at once.
/// </summary>
/// <remarks>Not thread-safe; one simulation per test.</remarks>
internal sealed partial class RaftSimulation
{
    private readonly PriorityQueue<SimEvent, (long Time, long Seq)> _events = new();
    private readonly Dictionary<int, SimNode> _nodes = [];
    private readonly Dictionary<int, int> _leaderOfEpoch = [];
    private readonly List<CommittedBatch> _committed = [];
    private readonly List<string> _trace = [];
    private long _seq;
    private long _appendCounter;

    /// <param name="configure">Adjusts the default quorum configuration (Kafka's defaults, cluster id "sim-cluster").</param>
    /// <param name="storage">Durable storage per node id; in-memory (crashable) when null.</param>
    /// <param name="dynamic">A dynamic quorum (kraft.version 1, directory ids), whose voters may be changed with
    /// <see cref="AdminRequest"/>; snapshots then carry the voters (Kafka's snapshot format).</param>
    public RaftSimulation(int seed, int voters, int observers, Func<QuorumConfig, QuorumConfig>? configure = null,
        Func<int, (IRaftLog Log, IQuorumStateStore Store)>? storage = null, bool dynamic = false)
    {
        Seed = seed;
        Random = new Random(seed);
        Dynamic = dynamic;
        var ids = Enumerable.Range(1, voters).ToArray();
        var config = new QuorumConfig([.. ids.Select(id => new VoterEndpoint(id, "sim", 9093) { DirectoryId = dynamic ? TestQuorums.Dir(id) : Guid.Empty })])
        {
            ClusterId = "sim-cluster",
            KRaftVersion = dynamic ? (short)1 : (short)0,
        };
        Config = configure?.Invoke(config) ?? config;
        storage ??= _ => (new MemoryRaftLog(), new MemoryQuorumStateStore());
        foreach (var id in ids.Concat(Enumerable.Range(100, observers)))
        {
            var (log, store) = storage(id);
            _nodes[id] = new SimNode(id, log, store);
        }
    }

    public int Seed { get; }

    public bool Dynamic { get; }

    /// <summary>Answers to <see cref="AdminRequest"/> by error code.</summary>
    public Dictionary<short, int> AdminAnswers { get; } = [];

    public Random Random { get; }

    public QuorumConfig Config { get; }

    /// <summary>Adjusts <see cref="Config"/> for one node (by id) when it starts: its own listeners, auto-join.</summary>
    public Func<int, QuorumConfig, QuorumConfig>? NodeConfig { get; set; }

    public long Now { get; private set; }

    public long EventCount { get; private set; }

    /// <summary>Probability that a message is lost.</summary>
    public double DropRate { get; set; }

    public int MinDelayMs { get; set; } = 1;

    public int MaxDelayMs { get; set; } = 30;

    /// <summary>Every message is encoded and decoded at its latest version on its way (true by default).</summary>
    public bool WireRoundTrip { get; set; } = true;

    /// <summary>Partition group per node id; messages only flow inside a group. Empty: no partition.</summary>
    public Dictionary<int, int> Groups { get; } = [];

    public IReadOnlyCollection<SimNode> Nodes => _nodes.Values;

    public SimNode Node(int id) => _nodes[id];

    /// <summary>Committed batches as every node must see them, in offset order.</summary>
    public IReadOnlyList<CommittedBatch> Committed => _committed;

    public void StartAll()
    {
        foreach (var node in _nodes.Values)
        {
            StartNode(node);
        }
    }

    /// <summary>Runs events up to <paramref name="untilMs"/>, or until <paramref name="stop"/> holds after an event.</summary>
    public bool RunUntil(long untilMs, Func<bool>? stop = null)
    {
        while (_events.TryPeek(out _, out var key) && key.Time <= untilMs)
        {
            var next = _events.Dequeue();
            Now = key.Time;
            EventCount++;
            Execute(next);
            if (stop?.Invoke() == true)
            {
                return true;
            }
        }

        Now = Math.Max(Now, untilMs);
        return stop?.Invoke() == true;
    }

    public void At(long timeMs, string description, Action action) => Schedule(timeMs, new SimEvent.Action(description, action));

    /// <summary>Crashes are simulated by keeping the flushed prefix of an in-memory log only.</summary>
    public bool CanCrash => _nodes.Values.All(n => n.Log is MemoryRaftLog);

    public void Crash(SimNode node)
    {
        if (node.Log is not MemoryRaftLog memory)
        {
            throw new NotSupportedException("Only in-memory logs can be crashed.");
        }

        if (!node.Alive)
        {
            return;
        }

        Record($"crash {node.Id} (role {node.Replica!.Role}, epoch {node.Replica.Epoch}, log {node.Log.EndOffset}, flushed {node.Log.FlushedOffset})");
        node.Alive = false;
        node.Replica = null;
        node.Generation++;
        node.ScheduledPoll = long.MaxValue;

        // Only what was flushed survives, exactly as a killed process keeps only fsynced bytes.
        node.Log = memory.CloneFlushed();
    }

    public void Restart(SimNode node)
    {
        if (node.Alive)
        {
            return;
        }

        Record($"restart {node.Id}");
        StartNode(node);
    }

    public void Heal()
    {
        Groups.Clear();
        DropRate = 0;
    }

    /// <summary>Leaders that are alive, highest epoch first.</summary>
    public List<SimNode> Leaders() =>
        [.. _nodes.Values.Where(n => n.Alive && n.Replica!.Role == RaftRole.Leader).OrderByDescending(n => n.Replica!.Epoch)];

    /// <summary>Appends one record through the current leader, if there is one; returns its offset or -1.</summary>
    public long ClientAppend()
    {
        var leaders = Leaders();
        if (leaders.Count == 0)
        {
            return -1;
        }

        var leader = leaders[Random.Next(leaders.Count)];
        if (!leader.Replica!.TryAppend([RaftTestData.Value(++_appendCounter)], Now, out var offset))
        {
            return -1;
        }

        AfterStep(leader);
        return offset;
    }

    /// <summary>An admin client's request (AddRaftVoter, RemoveRaftVoter) handed straight to <paramref name="node"/>; its
    /// answer comes back over the simulated network to <see cref="AdminId"/>.</summary>
    public void AdminRequest(SimNode node, IApiMessage request)
    {
        if (!node.Alive)
        {
            return;
        }

        Record($"admin -> {node.Id}: {request.GetType().Name} {Describe(request)}");
        node.Replica!.Handle(new RaftMessage(AdminId, node.Id, ++_adminCorrelation, request), Now);
        AfterStep(node);
    }

    public const int AdminId = 999;
    private long _adminCorrelation;

    private static string Describe(IApiMessage request) => request switch
    {
        AddRaftVoterRequest add => $"{add.VoterId}",
        RemoveRaftVoterRequest remove => $"{remove.VoterId}",
        UpdateRaftVoterRequest update => $"{update.VoterId} port {update.Listeners[0].Port}",
        _ => "",
    };

    /// <summary>Ships what a node queued outside an event (e.g. after <see cref="RaftReplica.Resign"/>).</summary>
    public void Poke(SimNode node) => AfterStep(node);

    public string Describe()
    {
        var nodes = string.Join("; ", _nodes.Values.Select(n => n.Alive
            ? $"{n.Id}: {n.Replica!.Role} e{n.Replica.Epoch} l{n.Replica.LeaderId} v{n.Replica.VotedId} end {n.Log.EndOffset.Offset} hw {n.Replica.HighWatermark} delivered {n.Delivered} voters {n.Replica.Voters}"
            : $"{n.Id}: down"));
        var tail = string.Join("\n  ", _trace.TakeLast(40));
        return $"seed {Seed} at {Now} ms after {EventCount} events; committed {_committed.Count} batches\n  {nodes}\n  last events:\n  {tail}";
    }

    private void StartNode(SimNode node)
    {
        node.Alive = true;
        node.Delivered = 0;
        node.Generation++;
        node.ScheduledPoll = long.MaxValue;
        var listener = new SimListener(this, node);
        node.Replica = new RaftReplica(node.Id, NodeConfig?.Invoke(node.Id, Config) ?? Config, node.Log, node.Store, new Random(Random.Next()), listener,
            Dynamic ? TestQuorums.Dir(node.Id) : Guid.Empty);
        node.Starting = true;
        node.Replica.Start(Now);
        node.Starting = false;
        AfterStep(node);
    }

    private void Execute(SimEvent next)
    {
        switch (next)
        {
            case SimEvent.Deliver deliver when deliver.Message.Destination == AdminId:
                var code = deliver.Message.Body switch
                {
                    AddRaftVoterResponse add => add.ErrorCode,
                    RemoveRaftVoterResponse remove => remove.ErrorCode,
                    UpdateRaftVoterResponse update => update.ErrorCode,
                    _ => (short)-1,
                };
                AdminAnswers[code] = AdminAnswers.GetValueOrDefault(code) + 1;
                Record($"admin <- {deliver.Message.Source}: {deliver.Message.Body.GetType().Name} error {code}");
                break;
            case SimEvent.Deliver deliver:
                var target = _nodes[deliver.Message.Destination];
                if (!target.Alive || !Connected(deliver.Message.Source, deliver.Message.Destination))
                {
                    return;
                }

                if (deliver.Message.Body is ApiVersionsRequest)
                {
                    // The node's server answers ApiVersions (its handler, not its Raft core): the kraft.version range
                    // this software supports.
                    Ship(new RaftMessage(target.Id, deliver.Message.Source, deliver.Message.CorrelationId,
                        TestApiVersions.Supporting(RaftVoter.SupportedMinKRaftVersion, RaftVoter.SupportedMaxKRaftVersion)));
                    return;
                }

                target.Replica!.Handle(deliver.Message, Now);
                AfterStep(target);
                break;
            case SimEvent.Poll poll:
                var node = _nodes[poll.NodeId];
                if (!node.Alive || poll.Generation != node.Generation)
                {
                    return;
                }

                node.ScheduledPoll = long.MaxValue;
                AfterStep(node);
                break;
            case SimEvent.Action action:
                if (action.Description.Length > 0)
                {
                    Record(action.Description);
                }

                action.Run();
                break;
        }
    }

    /// <summary>After a node did something: check invariants, ship its messages, schedule its next poll.</summary>
    private void AfterStep(SimNode node)
    {
        var replica = node.Replica!;
        var deadline = replica.Poll(Now);
        CheckNode(node);
        while (replica.TryDequeue(out var message))
        {
            Ship(message);
        }

        deadline = Math.Max(deadline, Now + 1);
        if (deadline < node.ScheduledPoll && deadline != long.MaxValue)
        {
            node.ScheduledPoll = deadline;
            node.Generation++;
            Schedule(deadline, new SimEvent.Poll(node.Id, node.Generation));
        }
    }

    /// <summary>Puts a message on the simulated network: maybe lost, else delivered after a random delay.</summary>
    private void Ship(RaftMessage message)
    {
        if (DropRate > 0 && Random.NextDouble() < DropRate)
        {
            return;
        }

        var sent = WireRoundTrip ? message with { Body = ThroughTheWire(message.Body) } : message;
        Schedule(Now + Random.Next(MinDelayMs, MaxDelayMs + 1), new SimEvent.Deliver(sent));
    }

    /// <summary>
    /// Encodes the message at its latest version and decodes a fresh copy, as a network binding would: proves the core's
    /// messages are valid on the wire and that it only relies on what survives encoding.
    /// </summary>
    private static IApiMessage ThroughTheWire(IApiMessage body)
    {
        using var writer = new KafkaWriter(256);
        body.Write(writer, body.HighestVersion);
        var copy = (IApiMessage)Activator.CreateInstance(body.GetType())!;
        var reader = new KafkaReader(writer.WrittenSpan.ToArray());
        copy.Read(ref reader, body.HighestVersion);
        return copy;
    }

    private bool Connected(int a, int b) =>
        Groups.Count == 0 || (Groups.TryGetValue(a, out var ga) ? ga : 0) == (Groups.TryGetValue(b, out var gb) ? gb : 0);

    private void Schedule(long time, SimEvent e) => _events.Enqueue(e, (time, _seq++));

    private void Record(string text)
    {
        _trace.Add($"{Now}: {text}");
        if (_trace.Count > 200)
        {
            _trace.RemoveRange(0, 100);
        }
    }

    /// <summary>One scheduled event. Immutable.</summary>
    private abstract record SimEvent
    {
        /// <summary>A message arriving at its destination. Immutable.</summary>
        public sealed record Deliver(RaftMessage Message) : SimEvent;

        /// <summary>A node's timer poll; stale when the node rescheduled or restarted since. Immutable.</summary>
        public sealed record Poll(int NodeId, long Generation) : SimEvent;

        /// <summary>A scripted step (faults, client appends). Immutable.</summary>
        public sealed record Action(string Description, System.Action Run) : SimEvent;
    }

    /// <summary>Checks each committed batch a node delivers against the global committed sequence. Owned by the simulation.</summary>
    private sealed class SimListener(RaftSimulation sim, SimNode node) : IRaftListener
    {
        public void OnCommitted(in RecordBatch batch) =>
            sim.CheckCommitted(node, new CommittedBatch(batch.BaseOffset, batch.LastOffset, batch.PartitionLeaderEpoch, batch.Crc), batch);

        public void OnSnapshot(OffsetAndEpoch id, ReadOnlyMemory<byte> content) => sim.CheckSnapshot(node, id, content);

        public void OnLeaderChange(int leaderId, int epoch)
        {
        }
    }
}

/// <summary>A committed batch's identity. Immutable.</summary>
internal readonly record struct CommittedBatch(long BaseOffset, long LastOffset, int Epoch, uint Crc);

/// <summary>A simulated node: its durable parts (log, quorum-state) outlive crashes; the replica does not. Owned by the simulation.</summary>
internal sealed class SimNode(int id, IRaftLog log, IQuorumStateStore store)
{
    public int Id { get; } = id;

    public IRaftLog Log { get; set; } = log;

    public IQuorumStateStore Store { get; } = store;

    public RaftReplica? Replica { get; set; }

    public bool Alive { get; set; }

    /// <summary>Committed batches the listener's state covers: loaded from a snapshot, then delivered one by one.</summary>
    public int Delivered { get; set; }

    /// <summary>True while the replica starts (a snapshot loaded then is the node's own, not a fetched one).</summary>
    public bool Starting { get; set; }

    /// <summary>Snapshots fetched from a leader and installed.</summary>
    public int SnapshotsInstalled { get; set; }

    /// <summary>Snapshots this node took of its own state.</summary>
    public int SnapshotsTaken { get; set; }

    /// <summary>The node held a snapshot after the last event (it must keep one from then on).</summary>
    public bool HadSnapshot { get; set; }

    /// <summary>The most snapshots the node held at once.</summary>
    public int MaxSnapshotsHeld { get; set; }

    /// <summary>Highest epoch ever observed on this node (across restarts).</summary>
    public int MaxEpoch { get; set; }

    public RaftRole LastRole { get; set; } = RaftRole.Unattached;

    public long ScheduledPoll { get; set; } = long.MaxValue;

    public long Generation { get; set; }
}

/// <summary>An invariant broke; the message holds the seed and a trace to replay it. Immutable.</summary>
internal sealed class SimulationFailure(string message) : Exception(message);
