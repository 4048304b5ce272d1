using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>What the leader knows of one replica (Kafka's LeaderState.ReplicaState). Owned by <see cref="LeaderState"/>.</summary>
internal sealed class ReplicaProgress
{
    public long EndOffset { get; set; } = -1;

    public long LastFetchMs { get; set; } = -1;

    public long LastCaughtUpMs { get; set; } = -1;

    /// <summary>The leader's end offset when this replica last fetched: reaching it later means it was caught up then.</summary>
    public long LastFetchLeaderEndOffset { get; set; } = -1;
}

/// <summary>
/// The leader's bookkeeping for one epoch (Kafka's LeaderState): every replica's fetch position, the high watermark
/// (the offset a majority of voters has durably reached, advanced only past the epoch's start so that only entries of
/// the leader's own epoch commit older ones), voters that have not acknowledged BeginQuorumEpoch yet, and the
/// check-quorum timer. Owned by the <see cref="RaftReplica"/> that leads; not thread-safe.
/// </summary>
internal sealed class LeaderState
{
    private readonly QuorumConfig _config;
    private readonly int _localId;
    private readonly Dictionary<int, ReplicaProgress> _voters = [];
    private readonly Dictionary<int, ReplicaProgress> _observers = [];
    private readonly Dictionary<int, Guid> _directoryIds = [];
    private readonly HashSet<int> _fetchedSinceCheck = [];
    private long[] _offsets;

    /// <summary>A leader of the configured (static) voters.</summary>
    public LeaderState(QuorumConfig config, int localId, int epoch, long epochStartOffset, long highWatermark, long nowMs)
        : this(config, config.InitialVoters, localId, epoch, epochStartOffset, highWatermark, nowMs)
    {
    }

    public LeaderState(QuorumConfig config, VoterSet voters, int localId, int epoch, long epochStartOffset, long highWatermark, long nowMs)
    {
        _config = config;
        _localId = localId;
        Epoch = epoch;
        EpochStartOffset = epochStartOffset;
        HighWatermark = highWatermark;
        Voters = voters;
        _offsets = new long[voters.Count];
        foreach (var id in voters.Ids)
        {
            _voters[id] = new ReplicaProgress();
            if (id != localId)
            {
                UnacknowledgedVoters.Add(id);
            }
        }

        ResetCheckQuorum(nowMs);
    }

    /// <summary>The voter set in force: majorities are counted over it. Changes when a KRAFT_VOTERS record is appended
    /// or truncated away (<see cref="SetVoters"/>).</summary>
    public VoterSet Voters { get; private set; }

    public int Epoch { get; }

    /// <summary>The log end when this replica became leader: where its LEADER_CHANGE record went.</summary>
    public long EpochStartOffset { get; }

    public long HighWatermark { get; private set; }

    /// <summary>Voters that have not answered BeginQuorumEpoch for this epoch.</summary>
    public HashSet<int> UnacknowledgedVoters { get; } = [];

    /// <summary>When the leader resigns unless a majority of voters fetched in between.</summary>
    public long CheckQuorumDeadline { get; private set; }

    /// <summary>When this leader last knew a majority of voters in contact: its election, or the fetch that made one.</summary>
    public long MajorityContactMs { get; private set; }

    /// <summary>The leader's own durable end offset; returns whether the high watermark moved.</summary>
    public bool UpdateLocal(long flushedEndOffset, long nowMs)
    {
        // A leader that removed itself still appends until the removal commits; it is then counted as an observer.
        if (!_voters.TryGetValue(_localId, out var self) && !_observers.TryGetValue(_localId, out self))
        {
            self = new ReplicaProgress();
            _observers[_localId] = self;
        }

        self.EndOffset = flushedEndOffset;
        self.LastFetchMs = nowMs;
        self.LastCaughtUpMs = nowMs;
        return MaybeAdvanceHighWatermark();
    }

    /// <summary>A replica fetched from <paramref name="fetchOffset"/> with a log consistent with ours up to it.</summary>
    /// <returns>Whether the high watermark moved.</returns>
    public bool UpdateReplica(int replicaId, long fetchOffset, long leaderEndOffset, long nowMs, Guid directoryId = default)
    {
        if (directoryId != Guid.Empty)
        {
            _directoryIds[replicaId] = directoryId;
        }

        var isVoter = _voters.TryGetValue(replicaId, out var progress);
        if (!isVoter && !_observers.TryGetValue(replicaId, out progress))
        {
            progress = new ReplicaProgress();
            _observers[replicaId] = progress;
        }

        // Kafka's rule: caught up now if it reached our end; caught up as of its last fetch if it reached the end we had then.
        if (fetchOffset >= leaderEndOffset)
        {
            progress!.LastCaughtUpMs = Math.Max(progress.LastCaughtUpMs, nowMs);
        }
        else if (progress!.LastFetchLeaderEndOffset > 0 && fetchOffset >= progress.LastFetchLeaderEndOffset)
        {
            progress.LastCaughtUpMs = Math.Max(progress.LastCaughtUpMs, progress.LastFetchMs);
        }

        progress.LastFetchLeaderEndOffset = leaderEndOffset;
        progress.LastFetchMs = Math.Max(progress.LastFetchMs, nowMs);
        progress.EndOffset = fetchOffset;
        return isVoter && MaybeAdvanceHighWatermark();
    }

    /// <summary>Check-quorum: a voter's fetch counts towards the majority the leader must hear from.</summary>
    public void RecordVoterFetch(int voterId, long nowMs)
    {
        if (voterId == _localId || !_voters.ContainsKey(voterId))
        {
            return;
        }

        _fetchedSinceCheck.Add(voterId);
        if (_fetchedSinceCheck.Count + (_voters.ContainsKey(_localId) ? 1 : 0) >= Voters.Majority)
        {
            ResetCheckQuorum(nowMs);
        }
    }

    /// <summary>Other voters, most caught up first: the preferred successors of a resigning leader.</summary>
    public List<int> PreferredSuccessors()
    {
        var result = new List<int>(_voters.Count);
        foreach (var id in Voters.Ids)
        {
            if (id != _localId)
            {
                result.Add(id);
            }
        }

        result.Sort((a, b) => _voters[b].EndOffset.CompareTo(_voters[a].EndOffset));
        return result;
    }

    public void Describe(DescribeQuorumResponse.PartitionData partition)
    {
        foreach (var id in Voters.Ids)
        {
            partition.CurrentVoters.Add(Describe(id, Voters.TryGet(id)!.DirectoryId, _voters[id]));
        }

        foreach (var (id, progress) in _observers)
        {
            partition.Observers.Add(Describe(id, _directoryIds.GetValueOrDefault(id), progress));
        }
    }

    /// <summary>
    /// Kafka's isReplicaCaughtUp for AddRaftVoter: an observer with this id (and directory id, when it sent one) that has
    /// been caught up once and fetched within the last hour.
    /// </summary>
    public bool IsObserverCaughtUp(int id, Guid directoryId, long nowMs) =>
        _observers.TryGetValue(id, out var progress)
        && (directoryId == Guid.Empty || _directoryIds.GetValueOrDefault(id) == directoryId)
        && progress.LastCaughtUpMs > 0 && progress.LastFetchMs > 0 && progress.LastFetchMs > nowMs - 3_600_000;

    /// <summary>
    /// The voter set changed (a KRAFT_VOTERS record was appended, or truncated away): replicas move between voters and
    /// observers keeping their progress, and the high watermark is counted over the new set from now on.
    /// </summary>
    /// <returns>Whether the high watermark moved.</returns>
    public bool SetVoters(VoterSet voters)
    {
        foreach (var id in _voters.Keys.ToList())
        {
            if (!voters.Contains(id))
            {
                _observers[id] = _voters[id];
                _voters.Remove(id);
                UnacknowledgedVoters.Remove(id);
            }
        }

        foreach (var id in voters.Ids)
        {
            if (!_voters.ContainsKey(id))
            {
                _voters[id] = _observers.Remove(id, out var progress) ? progress : new ReplicaProgress();
            }
        }

        Voters = voters;
        _offsets = new long[voters.Count];
        _fetchedSinceCheck.IntersectWith(voters.Ids);
        return voters.Count > 0 && MaybeAdvanceHighWatermark();
    }

    private static DescribeQuorumResponse.ReplicaState Describe(int id, Guid directoryId, ReplicaProgress progress) => new()
    {
        ReplicaId = id,
        ReplicaDirectoryId = directoryId,
        LogEndOffset = progress.EndOffset,
        LastFetchTimestamp = progress.LastFetchMs,
        LastCaughtUpTimestamp = progress.LastCaughtUpMs,
    };

    private void ResetCheckQuorum(long nowMs)
    {
        _fetchedSinceCheck.Clear();
        MajorityContactMs = nowMs;

        // A lone voter is its own majority and never loses it.
        CheckQuorumDeadline = Voters.Majority <= 1 && Voters.Contains(_localId) ? long.MaxValue : nowMs + _config.FetchTimeoutMs * 3L / 2;
    }

    private bool MaybeAdvanceHighWatermark()
    {
        if (Voters.Count == 0)
        {
            return false;
        }

        var i = 0;
        foreach (var id in Voters.Ids)
        {
            _offsets[i++] = _voters[id].EndOffset;
        }

        // Ascending order: the end offset at Length - Majority is reached by a majority of voters.
        Array.Sort(_offsets);
        var candidate = _offsets[_offsets.Length - Voters.Majority];
        if (candidate > EpochStartOffset && candidate > HighWatermark)
        {
            HighWatermark = candidate;
            return true;
        }

        return false;
    }
}
