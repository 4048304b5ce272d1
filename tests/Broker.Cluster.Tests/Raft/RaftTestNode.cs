using System.Buffers.Binary;
using Broker.Cluster.Raft;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Tests.Raft;

/// <summary>Records what a replica's listener is told. Not thread-safe.</summary>
internal sealed class RecordingListener : IRaftListener
{
    public List<(long Base, long Last, int Epoch, bool Control, uint Crc)> Committed { get; } = [];

    public List<(int LeaderId, int Epoch)> LeaderChanges { get; } = [];

    public void OnCommitted(in RecordBatch batch) =>
        Committed.Add((batch.BaseOffset, batch.LastOffset, batch.PartitionLeaderEpoch, batch.IsControl, batch.Crc));

    public void OnLeaderChange(int leaderId, int epoch) => LeaderChanges.Add((leaderId, epoch));

    /// <summary>Snapshots loaded, in order.</summary>
    public List<OffsetAndEpoch> Snapshots { get; } = [];

    /// <summary>The state this listener would snapshot: its committed list, one fixed-size entry per batch.</summary>
    public byte[] SnapshotContent()
    {
        var content = new byte[Committed.Count * EntrySize];
        for (var i = 0; i < Committed.Count; i++)
        {
            var (baseOffset, last, epoch, control, crc) = Committed[i];
            var entry = content.AsSpan(i * EntrySize);
            BinaryPrimitives.WriteInt64BigEndian(entry, baseOffset);
            BinaryPrimitives.WriteInt64BigEndian(entry[8..], last);
            BinaryPrimitives.WriteInt32BigEndian(entry[16..], epoch);
            entry[20] = control ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteUInt32BigEndian(entry[21..], crc);
        }

        return content;
    }

    /// <summary>Loading a snapshot replaces the committed list with the one it holds.</summary>
    public void OnSnapshot(OffsetAndEpoch id, ReadOnlyMemory<byte> content)
    {
        Snapshots.Add(id);
        Committed.Clear();
        for (var position = 0; position < content.Length; position += EntrySize)
        {
            var entry = content.Span[position..];
            Committed.Add((BinaryPrimitives.ReadInt64BigEndian(entry), BinaryPrimitives.ReadInt64BigEndian(entry[8..]),
                BinaryPrimitives.ReadInt32BigEndian(entry[16..]), entry[20] == 1, BinaryPrimitives.ReadUInt32BigEndian(entry[21..])));
        }
    }

    private const int EntrySize = 25;
}

/// <summary>One replica with in-memory log and state, as unit tests drive it. Not thread-safe.</summary>
internal sealed class RaftTestNode
{
    public RaftTestNode(int id, QuorumConfig config, int seed, MemoryRaftLog? log = null, MemoryQuorumStateStore? store = null,
        Guid directoryId = default)
    {
        Id = id;
        Log = log ?? new MemoryRaftLog();
        Store = store ?? new MemoryQuorumStateStore();
        Replica = new RaftReplica(id, config, Log, Store, new Random(seed), Listener, directoryId);
    }

    public int Id { get; }

    public MemoryRaftLog Log { get; }

    public MemoryQuorumStateStore Store { get; }

    public RecordingListener Listener { get; } = new();

    public RaftReplica Replica { get; }

    public List<RaftMessage> Drain()
    {
        var result = new List<RaftMessage>();
        while (Replica.TryDequeue(out var message))
        {
            result.Add(message);
        }

        return result;
    }
}

/// <summary>
/// Delivers messages between test nodes at once, in FIFO order, with an optional filter to drop some. Not thread-safe.
/// </summary>
internal sealed class InstantNetwork
{
    private readonly Dictionary<int, RaftTestNode> _nodes = [];

    public InstantNetwork(QuorumConfig config, IEnumerable<int> ids, int seed = 1)
    {
        Config = config;
        foreach (var id in ids)
        {
            _nodes[id] = new RaftTestNode(id, config, seed + id);
        }
    }

    public QuorumConfig Config { get; }

    public ManualTime Time { get; } = new(0);

    public Func<RaftMessage, bool> Deliverable { get; set; } = _ => true;

    /// <summary>Messages to ids that are no node here (a test acting as an admin client).</summary>
    public List<RaftMessage> Outside { get; } = [];

    /// <summary>
    /// What a node's server answers to ApiVersions (its listener's handler does, not its Raft core): by default the
    /// kraft.version range this software supports, as ApiVersionsHandler reports it. Null: no answer.
    /// </summary>
    public Func<RaftMessage, ApiVersionsResponse?> ApiVersions { get; set; } =
        static _ => TestApiVersions.Supporting(RaftVoter.SupportedMinKRaftVersion, RaftVoter.SupportedMaxKRaftVersion);

    /// <summary>ApiVersions requests delivered to nodes, in order.</summary>
    public List<RaftMessage> ApiVersionsRequests { get; } = [];

    /// <summary>Bootstrap-server ids (negative) and the node that answers at each.</summary>
    public Dictionary<int, int> Aliases { get; } = [];

    private readonly Dictionary<(int Requester, long CorrelationId), int> _aliased = [];

    public RaftTestNode this[int id]
    {
        get => _nodes[id];
        set => _nodes[id] = value;
    }

    public IEnumerable<RaftTestNode> Nodes => _nodes.Values;

    public void StartAll()
    {
        foreach (var node in _nodes.Values)
        {
            node.Replica.Start(Time.NowMs);
        }
    }

    /// <summary>Delivers until no node has anything to send; returns the number of messages delivered.</summary>
    public int Pump()
    {
        var delivered = 0;
        var queue = new Queue<RaftMessage>();
        while (true)
        {
            foreach (var node in _nodes.Values)
            {
                foreach (var message in node.Drain())
                {
                    queue.Enqueue(message);
                }
            }

            if (queue.Count == 0)
            {
                return delivered;
            }

            while (queue.TryDequeue(out var next))
            {
                var message = next;
                if (Aliases.TryGetValue(message.Destination, out var real))
                {
                    // A bootstrap server: the node behind it answers, and the answer comes back from the address asked.
                    _aliased[(message.Source, message.CorrelationId)] = message.Destination;
                    message = message with { Destination = real };
                }
                else if (_aliased.Remove((message.Destination, message.CorrelationId), out var alias))
                {
                    message = message with { Source = alias };
                }

                if (_nodes.TryGetValue(message.Destination, out var target) && Deliverable(message))
                {
                    if (message.Body is ApiVersionsRequest)
                    {
                        ApiVersionsRequests.Add(message);
                        if (ApiVersions(message) is { } answer)
                        {
                            queue.Enqueue(new RaftMessage(message.Destination, message.Source, message.CorrelationId, answer));
                        }
                    }
                    else
                    {
                        target.Replica.Handle(message, Time.NowMs);
                    }

                    delivered++;
                }
                else if (!_nodes.ContainsKey(message.Destination))
                {
                    Outside.Add(message);
                }
            }
        }
    }

    /// <summary>Advances the clock in steps, polling every node and pumping messages at each step.</summary>
    public void Advance(long ms, long stepMs = 10)
    {
        var end = Time.NowMs + ms;
        while (Time.NowMs < end)
        {
            Time.NowMs = Math.Min(end, Time.NowMs + stepMs);
            foreach (var node in _nodes.Values)
            {
                node.Replica.Poll(Time.NowMs);
            }

            Pump();
        }
    }

    /// <summary>Runs until some node leads, or fails after <paramref name="maxMs"/> of simulated time.</summary>
    public RaftTestNode ElectLeader(long maxMs = 30_000)
    {
        var end = Time.NowMs + maxMs;
        while (Time.NowMs < end)
        {
            Advance(10);
            foreach (var node in _nodes.Values)
            {
                if (node.Replica.Role == RaftRole.Leader)
                {
                    return node;
                }
            }
        }

        throw new Xunit.Sdk.XunitException($"No leader elected within {maxMs} ms.");
    }
}

/// <summary>ApiVersions answers as a node's server gives them. Stateless.</summary>
internal static class TestApiVersions
{
    /// <summary>A v4 answer whose SupportedFeatures hold kraft.version <paramref name="min"/>-<paramref name="max"/>.</summary>
    public static ApiVersionsResponse Supporting(short min, short max)
    {
        var response = Without();
        response.SupportedFeatures.Add(new ApiVersionsResponse.SupportedFeatureKey { Name = "kraft.version", MinVersion = min, MaxVersion = max });
        return response;
    }

    /// <summary>An answer naming metadata.version only (no kraft.version entry).</summary>
    public static ApiVersionsResponse Without()
    {
        var response = new ApiVersionsResponse();
        response.SupportedFeatures.Add(new ApiVersionsResponse.SupportedFeatureKey { Name = "metadata.version", MinVersion = 25, MaxVersion = 25 });
        return response;
    }
}

/// <summary>Quorum configurations for tests. Stateless.</summary>
internal static class TestQuorums
{
    public static QuorumConfig Of(params int[] ids) => new([.. ids.Select(id => new VoterEndpoint(id, "localhost", 9093 + id))]);

    /// <summary>A dynamic quorum (kraft.version 1) of <paramref name="ids"/>, each with directory id <see cref="Dir"/>.</summary>
    public static QuorumConfig Dynamic(params int[] ids) =>
        new([.. ids.Select(id => new VoterEndpoint(id, "localhost", 9093 + id) { DirectoryId = Dir(id) })]) { KRaftVersion = 1 };

    /// <summary>The directory id test node <paramref name="id"/> uses in dynamic quorums.</summary>
    public static Guid Dir(int id) => new(id, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]);
}
