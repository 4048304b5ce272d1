namespace Broker.Cluster.Replication;

/// <summary>Settings of a partition's replica tracking. Immutable.</summary>
/// <param name="ReplicaLagTimeMaxMs">replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR.</param>
/// <param name="MinInsyncReplicas">min.insync.replicas of the topic.</param>
public sealed record ReplicaSetOptions(long ReplicaLagTimeMaxMs = 30_000, int MinInsyncReplicas = 1);

/// <summary>What a leader knows of one follower from its fetches. Immutable.</summary>
/// <param name="LogEndOffset">The follower's fetch offset: its log end. -1 before its first fetch.</param>
/// <param name="LastCaughtUpTimeMs">The last time it had everything the leader had (Kafka's lastCaughtUpTimeMs).</param>
/// <param name="LeaderEndOffsetAtLastFetch">The leader's log end when it last fetched.</param>
public readonly record struct FollowerState(int ReplicaId, long LogEndOffset, long LogStartOffset, long LastFetchTimeMs,
    long LastCaughtUpTimeMs, long LeaderEndOffsetAtLastFetch, long BrokerEpoch);

/// <summary>An ISR change the leader wants the controller to commit (AlterPartition). Immutable.</summary>
public sealed record IsrChange(IReadOnlyList<int> NewIsr, int LeaderEpoch, int PartitionEpoch);

/// <summary>
/// The leader's view of a partition's replicas (Kafka's Partition with its Replica states and PartitionState): follower
/// log end offsets from their fetches, the high watermark they allow, which followers fell out of sync or caught up,
/// and whether acks=all can be satisfied. Pure: time comes in as arguments, ISR changes go out as
/// <see cref="IsrChange"/> proposals and come back through <see cref="OnPartitionChanged"/> (the metadata log). At most one
/// proposal is in flight; meanwhile the maximal ISR (the current one plus a pending addition) counts for the high
/// watermark and acks=all, as in Kafka (KIP-497). Thread-safe: every method takes one lock.
/// </summary>
public sealed class ReplicaSet
{
    private readonly Lock _lock = new();
    private readonly int _localId;
    private ReplicaSetOptions _options;
    private readonly Dictionary<int, FollowerState> _followers = [];
    private IReadOnlyList<int> _replicas;
    private IReadOnlyList<int> _isr;
    private IsrChange? _pending;

    /// <param name="epochStartOffset">Where this leader's epoch began (a follower must reach it to rejoin the ISR).</param>
    /// <param name="nowMs">When leadership began: ISR members count as caught up then, as in Kafka's makeLeader, so
    /// they get replica.lag.time.max.ms to fetch before they can be called out of sync.</param>
    public ReplicaSet(int localId, IReadOnlyList<int> replicas, IReadOnlyList<int> isr, int leaderEpoch, int partitionEpoch,
        long epochStartOffset, ReplicaSetOptions options, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(isr);
        _localId = localId;
        _options = options;
        _replicas = [.. replicas];
        _isr = [.. isr];
        LeaderEpoch = leaderEpoch;
        PartitionEpoch = partitionEpoch;
        EpochStartOffset = epochStartOffset;
        foreach (var replica in replicas)
        {
            if (replica != localId)
            {
                _followers[replica] = new FollowerState(replica, -1, -1, -1, isr.Contains(replica) ? nowMs : -1, -1, -1);
            }
        }
    }

    public int LeaderEpoch { get; }

    public int PartitionEpoch { get; private set; }

    public long EpochStartOffset { get; }

    /// <summary>Every replica of the partition, the leader included.</summary>
    public IReadOnlyList<int> AssignedReplicas
    {
        get
        {
            lock (_lock)
            {
                return _replicas;
            }
        }
    }

    /// <summary>The committed ISR (from the metadata log).</summary>
    public IReadOnlyList<int> Isr
    {
        get
        {
            lock (_lock)
            {
                return _isr;
            }
        }
    }

    /// <summary>The ISR proposal in flight, if any.</summary>
    public IsrChange? Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending;
            }
        }
    }

    /// <summary>The committed ISR plus a pending addition: what the high watermark and acks=all count.</summary>
    public IReadOnlyList<int> MaximalIsr
    {
        get
        {
            lock (_lock)
            {
                return MaximalIsrLocked();
            }
        }
    }

    public FollowerState Follower(int replicaId)
    {
        lock (_lock)
        {
            return _followers[replicaId];
        }
    }

    public bool IsReplica(int replicaId) => _replicas.Contains(replicaId);

    /// <summary>min(min.insync.replicas, replica count): below it the high watermark stops and acks=all fails.</summary>
    public int EffectiveMinIsr
    {
        get
        {
            lock (_lock)
            {
                return Math.Min(_options.MinInsyncReplicas, _replicas.Count);
            }
        }
    }

    /// <summary>A topic config change of min.insync.replicas applies at once.</summary>
    public void UpdateMinInsyncReplicas(int minInsyncReplicas)
    {
        lock (_lock)
        {
            _options = _options with { MinInsyncReplicas = minInsyncReplicas };
        }
    }

    /// <summary>
    /// A follower fetched from <paramref name="fetchOffset"/> (its log end) at <paramref name="nowMs"/> while the leader's
    /// log ended at <paramref name="leaderEndOffset"/>. Updates its state and returns the ISR change to propose if it
    /// has caught up and is not in the ISR (null otherwise, or while another proposal is in flight). Unknown replicas
    /// are refused by the caller (<see cref="IsReplica"/>). A follower the metadata says may not join the ISR (fenced, or
    /// in controlled shutdown: <paramref name="isrEligible"/> false) is tracked but not proposed, as Kafka's leader checks
    /// (KIP-841) instead of asking the controller for a change it must refuse.
    /// </summary>
    public IsrChange? OnFollowerFetch(int replicaId, long fetchOffset, long followerLogStartOffset, long brokerEpoch,
        long leaderEndOffset, long highWatermark, long nowMs, bool isrEligible = true)
    {
        lock (_lock)
        {
            if (!_followers.TryGetValue(replicaId, out var previous))
            {
                return null; // removed by a reassignment after the caller's IsReplica check
            }

            var caughtUp = previous.LastCaughtUpTimeMs;
            if (fetchOffset >= leaderEndOffset)
            {
                caughtUp = Math.Max(caughtUp, nowMs);
            }
            else if (previous.LastFetchTimeMs >= 0 && fetchOffset >= previous.LeaderEndOffsetAtLastFetch)
            {
                caughtUp = Math.Max(caughtUp, previous.LastFetchTimeMs);
            }

            _followers[replicaId] = new FollowerState(replicaId, fetchOffset, followerLogStartOffset, nowMs, caughtUp, leaderEndOffset, brokerEpoch);

            // Kafka's isFollowerInSync for expansion: at or past the high watermark and the start of this leader's epoch.
            if (!isrEligible || _pending is not null || _isr.Contains(replicaId) || fetchOffset < highWatermark || fetchOffset < EpochStartOffset)
            {
                return null;
            }

            _pending = new IsrChange([.. _isr, replicaId], LeaderEpoch, PartitionEpoch);
            return _pending;
        }
    }

    /// <summary>
    /// The high watermark the replicas allow: the smallest log end among the leader and the maximal ISR, or null while
    /// the maximal ISR is below <see cref="EffectiveMinIsr"/> (Kafka stops it then) or a member has not fetched yet.
    /// The caller only ever moves the log's high watermark forward.
    /// </summary>
    public long? HighWatermark(long leaderEndOffset)
    {
        lock (_lock)
        {
            var isr = MaximalIsrLocked();
            if (isr.Count < Math.Min(_options.MinInsyncReplicas, _replicas.Count))
            {
                return null;
            }

            var low = leaderEndOffset;
            foreach (var replica in isr)
            {
                if (replica == _localId)
                {
                    continue;
                }

                if (!_followers.TryGetValue(replica, out var follower) || follower.LogEndOffset < 0)
                {
                    return null;
                }

                low = Math.Min(low, follower.LogEndOffset);
            }

            return low;
        }
    }

    /// <summary>
    /// Followers in the ISR that are out of sync at <paramref name="nowMs"/> (behind the leader and not caught up for
    /// replica.lag.time.max.ms), and the shrink to propose for them; null when all keep up or a proposal is in flight.
    /// The leader itself never leaves.
    /// </summary>
    public IsrChange? CheckShrink(long leaderEndOffset, long nowMs)
    {
        lock (_lock)
        {
            if (_pending is not null)
            {
                return null;
            }

            List<int>? keep = null;
            foreach (var replica in _isr)
            {
                if (replica != _localId && _followers.TryGetValue(replica, out var follower)
                    && follower.LogEndOffset != leaderEndOffset
                    && nowMs - follower.LastCaughtUpTimeMs > _options.ReplicaLagTimeMaxMs)
                {
                    keep ??= [.. _isr];
                    keep.Remove(replica);
                }
            }

            if (keep is null)
            {
                return null;
            }

            _pending = new IsrChange(keep, LeaderEpoch, PartitionEpoch);
            return _pending;
        }
    }

    /// <summary>
    /// acks=all before the append: NOT_ENOUGH_REPLICAS when the ISR is below min.insync.replicas (Kafka checks the ISR
    /// as committed, not the maximal one, before appending).
    /// </summary>
    public bool HasEnoughReplicasForAcksAll()
    {
        lock (_lock)
        {
            return _isr.Count >= Math.Min(_options.MinInsyncReplicas, _replicas.Count);
        }
    }

    /// <summary>
    /// The metadata log committed a partition change in this leader epoch: the new ISR and partition epoch replace the
    /// old, and a pending proposal is settled (whether or not it was the one committed). A reassignment changes the
    /// replicas without a new leader epoch when the leader stays: replicas it adds become followers whose fetches are
    /// served (else they could never catch up and the reassignment never completes), replicas it drops stop counting,
    /// as in Kafka's updateAssignmentAndIsr.
    /// </summary>
    public void OnPartitionChanged(IReadOnlyList<int> replicas, IReadOnlyList<int> isr, int partitionEpoch)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(isr);
        lock (_lock)
        {
            // Every metadata image re-applies every partition; one at the same partition epoch is no change and must not
            // settle a proposal still in flight (that would let the high watermark move over the smaller ISR).
            if (partitionEpoch <= PartitionEpoch)
            {
                return;
            }

            _replicas = [.. replicas];
            foreach (var replica in replicas)
            {
                if (replica != _localId && !_followers.ContainsKey(replica))
                {
                    _followers[replica] = new FollowerState(replica, -1, -1, -1, -1, -1, -1);
                }
            }

            foreach (var follower in _followers.Keys.Where(f => !replicas.Contains(f)).ToArray())
            {
                _followers.Remove(follower);
            }

            _isr = [.. isr];
            PartitionEpoch = partitionEpoch;
            _pending = null;
        }
    }

    /// <summary>The controller refused or lost the proposal (INVALID_UPDATE_VERSION and the like): allow a new one.</summary>
    public void OnIsrChangeFailed()
    {
        lock (_lock)
        {
            _pending = null;
        }
    }

    private IReadOnlyList<int> MaximalIsrLocked()
    {
        if (_pending is null || _pending.NewIsr.Count <= _isr.Count)
        {
            // No proposal, or a shrink: the current ISR still counts until the controller commits it.
            return _isr;
        }

        return _pending.NewIsr;
    }
}
