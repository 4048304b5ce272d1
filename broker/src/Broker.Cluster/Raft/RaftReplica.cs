using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Raft;

/// <summary>
/// One replica of the KRaft metadata quorum (Kafka's KafkaRaftClient and QuorumState), as a pure state machine: inputs
/// are inbound messages (<see cref="Handle"/>), timer polls (<see cref="Poll"/>) and leader appends
/// (<see cref="TryAppend"/>), each with the current time; outputs are messages to node ids (a new voter's ApiVersions
/// also names its endpoint; <see cref="RaftMessage.Endpoint"/>) (<see cref="TryDequeue"/>), committed batches and leader changes (<see cref="IRaftListener"/>). Time and randomness
/// are injected; there are no tasks, threads or sockets inside, so a seeded simulation drives it deterministically.
/// States, rules and files are described in docs/raft.md.
/// </summary>
/// <remarks>
/// Not thread-safe: owned by one driver thread (the network binding's event loop, or the simulation). Durable state
/// (quorum-state, flushed log) is written synchronously inside the call that changes it, so a message produced by a
/// call is never sent before what it promises is on disk.
/// </remarks>
public sealed partial class RaftReplica
{
    private readonly QuorumConfig _config;
    private readonly IRaftLog _log;
    private readonly IQuorumStateStore _store;
    private readonly Random _random;
    private readonly IRaftListener? _listener;
    private readonly Queue<RaftMessage> _outbound = new();
    private readonly Dictionary<int, (long CorrelationId, long SentMs)> _inflight = [];
    private readonly Dictionary<int, long> _readyAtMs = [];
    private readonly HashSet<int> _granted = [];
    private readonly HashSet<int> _rejected = [];
    private readonly HashSet<int> _unacknowledgedEndEpoch = [];
    private readonly List<ParkedFetch> _parked = [];
    private List<int> _preferredSuccessors = [];
    private ElectionState _election = ElectionState.Initial;
    private LeaderState? _leader;
    private long _nextCorrelationId;
    private long _highWatermark;
    private long _nextDelivery;
    private long _electionDeadline = long.MaxValue;
    private long _fetchDeadline = long.MaxValue;
    private long _backoffDeadline = long.MaxValue;
    private bool _backingOff;
    private int _retries;
    private bool _started;

    /// <param name="localId">This node's <c>node.id</c>; a voter if it is in <paramref name="config"/>, else an observer.</param>
    /// <param name="random">Draws election timeouts and backoffs; seeded in simulations.</param>
    /// <param name="directoryId">The directory id of the metadata log dir (a dynamic quorum's voters are (id, directory id)).</param>
    public RaftReplica(int localId, QuorumConfig config, IRaftLog log, IQuorumStateStore store, Random random, IRaftListener? listener,
        Guid directoryId = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(random);
        LocalId = localId;
        _config = config;
        _log = log;
        _store = store;
        _random = random;
        _listener = listener;
        DirectoryId = directoryId;
        _voterHistory.Add(new VotersEntry(-1, config.InitialVoters, config.KRaftVersion));

        // Random start: a response to a request sent before a restart must not match a new request's id.
        _nextCorrelationId = random.NextInt64(1, long.MaxValue / 2);
    }

    public int LocalId { get; }

    public RaftRole Role { get; private set; } = RaftRole.Unattached;

    public int Epoch => _election.Epoch;

    /// <summary>The leader of <see cref="Epoch"/> as far as this replica knows, or -1.</summary>
    public int LeaderId => _election.LeaderId;

    public int VotedId => _election.VotedId;

    /// <summary>Offsets below it are committed (known to be on a majority of voters).</summary>
    public long HighWatermark => _highWatermark;

    /// <summary>While leading a quorum of more than one voter: when a majority of voters was last in contact
    /// (<see cref="LeaderState.MajorityContactMs"/>); else -1 (a lone voter is always its own majority).</summary>
    public long LeaderMajorityContactMs => _leader is { } leader && Voters.Majority > 1 ? leader.MajorityContactMs : -1;

    /// <summary>The next offset <see cref="IRaftListener.OnCommitted"/> will be called for.</summary>
    public long NextDeliveryOffset => _nextDelivery;

    public OffsetAndEpoch LogEnd => _log.EndOffset;

    /// <summary>
    /// Restores the state persisted in quorum-state (Kafka's QuorumState.initialize): a replica that was leader comes
    /// back resigned, a candidate resumes its candidacy, a follower follows the same leader; a log that holds a later
    /// epoch than the file wins. A lone voter then elects itself at once.
    /// </summary>
    public void Start(long nowMs)
    {
        if (_started)
        {
            throw new InvalidOperationException("The replica is already started.");
        }

        _started = true;
        LoadLatestSnapshot();
        RebuildVoters();
        var stored = _store.Read() ?? ElectionState.Initial;
        _election = stored;
        var logEpoch = _log.EndOffset.Epoch;
        if (stored.Epoch < logEpoch)
        {
            BecomeUnattached(logEpoch, nowMs);
        }
        else if (stored.LeaderId == LocalId && CanElect)
        {
            EnterResigned(nowMs, []);
        }
        else if (stored.VotedId == LocalId && !stored.HasLeader && CanElect)
        {
            Transition(stored, RaftRole.Candidate, nowMs);
            _retries = 1;
            _granted.Add(LocalId);
            _electionDeadline = nowMs + RandomElectionTimeout();
        }
        else if (stored.HasLeader && stored.LeaderId != LocalId)
        {
            Transition(stored, RaftRole.Follower, nowMs);
            _fetchDeadline = nowMs + _config.FetchTimeoutMs;
        }
        else
        {
            EnterUnattached(nowMs);
        }

        if (IsVoter && Voters.Count == 1)
        {
            // Kafka's isOnlyVoter: nobody else can win or object, so the lone voter takes a new epoch now.
            BecomeCandidate(nowMs);
        }

        _listener?.OnLeaderChange(LeaderId, Epoch);
        Poll(nowMs);
    }

    /// <summary>Fires due timers and sends what is due; returns when it next needs to be polled.</summary>
    public long Poll(long nowMs)
    {
        EnsureStarted();
        ExpireRequests(nowMs);
        switch (Role)
        {
            case RaftRole.Unattached or RaftRole.Voted when CanElect && nowMs >= _electionDeadline:
                BecomeCandidate(nowMs);
                break;
            case RaftRole.Candidate when _backingOff && nowMs >= _backoffDeadline:
                BecomeCandidate(nowMs);
                break;
            case RaftRole.Candidate when !_backingOff && nowMs >= _electionDeadline:
                StartBackoff(nowMs);
                break;
            case RaftRole.Follower when nowMs >= _fetchDeadline:
                if (CanElect)
                {
                    BecomeCandidate(nowMs);
                }
                else
                {
                    // An observer forgets the silent leader and asks the voters again.
                    Transition(_election with { LeaderId = ElectionState.NoId }, RaftRole.Unattached, nowMs);
                }

                break;
            case RaftRole.Leader:
                ExpireParkedFetches(nowMs);
                CompleteVoterChange(nowMs);
                if (nowMs >= _leader!.CheckQuorumDeadline)
                {
                    // Check-quorum: without fetches from a majority this leader may be partitioned away; step aside.
                    EnterResigned(nowMs, []);
                }

                break;
            case RaftRole.Resigned when nowMs >= _electionDeadline:
                if (CanElect)
                {
                    BecomeCandidate(nowMs);
                }
                else
                {
                    // A leader that removed itself from the voters waits, as an observer, to hear of the next leader.
                    Transition(_election with { LeaderId = ElectionState.NoId }, RaftRole.Unattached, nowMs);
                }

                break;
        }

        CompleteVoterChange(nowMs);
        ApplyRetention(nowMs);
        SendDueRequests(nowMs);
        return NextDeadline(nowMs);
    }

    /// <summary>Handles one inbound request or response; responses to requests go out through <see cref="TryDequeue"/>.</summary>
    public void Handle(in RaftMessage message, long nowMs)
    {
        EnsureStarted();
        switch (message.Body)
        {
            case VoteRequest request:
                Reply(message, HandleVoteRequest(request, nowMs));
                break;
            case BeginQuorumEpochRequest request:
                Reply(message, HandleBeginQuorumEpochRequest(request, nowMs));
                break;
            case EndQuorumEpochRequest request:
                Reply(message, HandleEndQuorumEpochRequest(request, nowMs));
                break;
            case FetchRequest request:
                HandleFetchRequest(message.Source, message.CorrelationId, request, nowMs, mayPark: true);
                break;
            case FetchSnapshotRequest request:
                Reply(message, HandleFetchSnapshotRequest(message.Source, request, nowMs));
                break;
            case DescribeQuorumRequest:
                Reply(message, DescribeQuorum());
                break;
            case AddRaftVoterRequest request:
                HandleAddVoterRequest(message, request, nowMs);
                break;
            case RemoveRaftVoterRequest request:
                HandleRemoveVoterRequest(message, request, nowMs);
                break;
            case UpdateRaftVoterRequest request:
                Reply(message, HandleUpdateVoterRequest(request, nowMs));
                break;
            default:
                if (CompleteInflight(message))
                {
                    HandleResponse(message, nowMs);
                }

                break;
        }

        CompleteVoterChange(nowMs);
        SendDueRequests(nowMs);
    }

    /// <summary>The next message to send, in order.</summary>
    public bool TryDequeue(out RaftMessage message) => _outbound.TryDequeue(out message);

    /// <summary>
    /// Appends records (metadata record values; null keys) as one batch of the current epoch when this replica is the
    /// leader, flushed before it counts towards the high watermark. Returns false, appending nothing, otherwise.
    /// </summary>
    /// <param name="lastOffset">The offset of the last appended record; committed once the high watermark passes it.</param>
    public bool TryAppend(IReadOnlyList<byte[]> records, long nowMs, out long lastOffset)
    {
        ArgumentNullException.ThrowIfNull(records);
        EnsureStarted();
        lastOffset = -1;
        if (Role != RaftRole.Leader || records.Count == 0)
        {
            return false;
        }

        using var builder = new RecordBatchBuilder { BaseOffset = _log.EndOffset.Offset, PartitionLeaderEpoch = Epoch };
        foreach (var record in records)
        {
            builder.Append(nowMs, null, record);
        }

        lastOffset = AppendAsLeader(builder.ToArray(), nowMs) - 1;
        CompleteVoterChange(nowMs);

        // A lone voter is never polled (it commits inside its appends): its log is cleaned here.
        ApplyRetention(nowMs);
        SendDueRequests(nowMs);
        return true;
    }

    /// <summary>
    /// Graceful resignation (shutdown): the leader stops appending and tells the other voters, most caught up first, to
    /// elect a successor without waiting for their timeouts. False when this replica is not the leader.
    /// </summary>
    public bool Resign(long nowMs)
    {
        EnsureStarted();
        if (Role != RaftRole.Leader)
        {
            return false;
        }

        EnterResigned(nowMs, _leader!.PreferredSuccessors());
        CompleteVoterChange(nowMs);
        SendDueRequests(nowMs);
        return true;
    }

    /// <summary>DescribeQuorum for <c>__cluster_metadata-0</c>; NOT_LEADER_OR_FOLLOWER unless this replica leads.</summary>
    public DescribeQuorumResponse DescribeQuorum()
    {
        var partition = new DescribeQuorumResponse.PartitionData { LeaderId = LeaderId, LeaderEpoch = Epoch, HighWatermark = _highWatermark };
        if (Role == RaftRole.Leader)
        {
            _leader!.Describe(partition);
        }
        else
        {
            partition.ErrorCode = (short)Protocol.ErrorCode.NotLeaderOrFollower;
        }

        var response = new DescribeQuorumResponse
        {
            Topics = [new DescribeQuorumResponse.TopicData { TopicName = RaftProtocol.TopicName, Partitions = [partition] }],
        };
        if (Role == RaftRole.Leader)
        {
            // v2's Nodes: the voters' endpoints, as Kafka's leader lists them.
            foreach (var voter in Voters.Voters)
            {
                response.Nodes.Add(new DescribeQuorumResponse.Node
                {
                    NodeId = voter.Id,
                    Listeners = [.. voter.Listeners.Select(static l => new DescribeQuorumResponse.Listener { Name = l.Name, Host = l.Host, Port = (ushort)l.Port })],
                });
            }
        }

        return response;
    }

    private void EnsureStarted()
    {
        if (!_started)
        {
            throw new InvalidOperationException("Start the replica first.");
        }
    }

    private long RandomElectionTimeout() => _config.ElectionTimeoutMs + _random.Next(_config.ElectionTimeoutMs);

    /// <summary>Kafka's binaryExponentialElectionBackoffMs: random in [0, 100 · 2^retries), capped.</summary>
    private long ElectionBackoff(int retries)
    {
        var bound = 2 << Math.Min(Math.Max(retries, 1) - 1, 20);
        return Math.Min(100L * _random.Next(bound), _config.ElectionBackoffMaxMs);
    }

    /// <summary>Hands every batch wholly below the high watermark to the listener, once, in order.</summary>
    private void DeliverCommitted()
    {
        while (_nextDelivery < _highWatermark)
        {
            var bytes = _log.Read(_nextDelivery, 1 << 20);
            if (bytes.IsEmpty)
            {
                return;
            }

            var position = 0;
            while (position + RecordBatchHeader.LogOverhead <= bytes.Length)
            {
                var size = RecordBatchHeader.TotalSize(bytes.Span[position..]);
                var batch = new RecordBatch(bytes.Slice(position, size));
                if (batch.LastOffset >= _highWatermark)
                {
                    return;
                }

                if (batch.NextOffset > _nextDelivery)
                {
                    _listener?.OnCommitted(batch);
                    _nextDelivery = batch.NextOffset;
                    _lastDeliveredEpoch = batch.PartitionLeaderEpoch;
                }

                position += size;
            }
        }
    }

    private void SetHighWatermark(long offset)
    {
        if (offset <= _highWatermark)
        {
            return;
        }

        _highWatermark = offset;
        _log.UpdateHighWatermark(offset);
        DeliverCommitted();
    }

    /// <summary>A long-polling fetch the leader answers later. Immutable.</summary>
    private sealed record ParkedFetch(int Source, long CorrelationId, FetchRequest Request, long DeadlineMs);
}
