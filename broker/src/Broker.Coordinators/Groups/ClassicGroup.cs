using Broker.Protocol;

namespace Broker.Coordinators.Groups;

/// <summary>
/// A classic group's state machine (Kafka's ClassicGroup plus the join/sync/heartbeat rules of GroupMetadataManager):
/// Empty → PreparingRebalance → CompletingRebalance → Stable, with Dead once deleted. Every method must be called
/// with <see cref="Lock"/> held; waiters are completed under it and run their continuations asynchronously.
/// Deadlines are plain timestamps checked by <see cref="Tick"/>. Not thread-safe by itself: guarded by <see cref="Lock"/>.
/// </summary>
internal sealed partial class ClassicGroup
{
    private readonly Dictionary<string, GroupMember> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _staticMembers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pendingMembers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingSync = new(StringComparer.Ordinal);
    private readonly GroupCoordinatorOptions _options;
    private long _rebalanceDeadlineMs;
    private long _initialDelayDeadlineMs;
    private long _syncDeadlineMs;

    public ClassicGroup(string groupId, GroupCoordinatorOptions options, long nowMs)
    {
        GroupId = groupId;
        _options = options;
        StateTimestampMs = nowMs;
    }

    public Lock Lock { get; } = new();

    public string GroupId { get; }

    public GroupState State { get; private set; } = GroupState.Empty;

    public long StateTimestampMs { get; private set; }

    public int GenerationId { get; private set; }

    /// <summary>Null for a "simple" group that only ever committed offsets.</summary>
    public string? ProtocolType { get; private set; }

    public string? ProtocolName { get; private set; }

    public string? LeaderId { get; private set; }

    public IReadOnlyCollection<GroupMember> Members => _members.Values;

    public Dictionary<(string Topic, int Partition), CommittedOffset> Offsets { get; } = [];

    /// <summary>Set when a transition must be written to __consumer_offsets (Stable with assignments, Empty); cleared by the writer.</summary>
    public bool MetadataDirty { get; set; }

    public int PendingMemberCount => _pendingMembers.Count;

    public bool HasMember(string memberId) => _members.ContainsKey(memberId);

    public GroupMember? Member(string memberId) => _members.GetValueOrDefault(memberId);

    // ---- timers ----

    /// <summary>Applies every deadline that has passed: sessions, pending members, join and sync phases, initial delay.</summary>
    public void Tick(long nowMs)
    {
        if (State == GroupState.Dead)
        {
            return;
        }

        if (_pendingMembers.Count > 0)
        {
            foreach (var (id, deadline) in _pendingMembers.ToArray())
            {
                if (nowMs >= deadline)
                {
                    _pendingMembers.Remove(id);
                }
            }
        }

        List<GroupMember>? expired = null;
        foreach (var m in _members.Values)
        {
            var keptAlive = (State == GroupState.PreparingRebalance && m.IsAwaitingJoin) || (State == GroupState.CompletingRebalance && m.SyncWaiter is not null);
            if (!keptAlive && nowMs >= m.LastHeartbeatMs + m.SessionTimeoutMs)
            {
                (expired ??= []).Add(m);
            }
        }

        foreach (var m in expired ?? [])
        {
            RemoveMember(m, nowMs);
        }

        switch (State)
        {
            case GroupState.PreparingRebalance when nowMs >= _rebalanceDeadlineMs:
                CompleteJoin(nowMs);
                break;
            case GroupState.PreparingRebalance:
                TryCompleteJoin(nowMs);
                break;
            case GroupState.CompletingRebalance or GroupState.Stable when _pendingSync.Count > 0 && nowMs >= _syncDeadlineMs:
                // Members that never synced (in time) are dropped and the group rebalances without them.
                foreach (var id in _pendingSync.ToArray())
                {
                    if (_members.TryGetValue(id, out var m))
                    {
                        RemoveMemberOnly(m, ErrorCode.RebalanceInProgress);
                    }
                }

                _pendingSync.Clear();
                PrepareRebalance(nowMs);
                TryCompleteJoin(nowMs);
                break;
        }
    }

    // ---- offsets, load, delete ----

    /// <summary>OffsetCommit validation for classic groups (Kafka's ClassicGroup.validateOffsetCommit); None when accepted.</summary>
    public ErrorCode ValidateOffsetCommit(int generationId, string memberId, string? groupInstanceId, long nowMs)
    {
        if (State == GroupState.Dead)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (generationId >= 0 || memberId.Length > 0 || groupInstanceId is not null)
        {
            if (ValidateMember(memberId, groupInstanceId) is { } invalid)
            {
                return invalid;
            }

            if (generationId != GenerationId)
            {
                return ErrorCode.IllegalGeneration;
            }

            _members[memberId].LastHeartbeatMs = nowMs;
        }
        else if (State != GroupState.Empty)
        {
            return ErrorCode.UnknownMemberId;
        }

        return State == GroupState.CompletingRebalance ? ErrorCode.RebalanceInProgress : ErrorCode.None;
    }

    /// <summary>Rebuilds the group from its persisted metadata: members come back Stable with their assignments and a fresh session.</summary>
    public void Restore(string? protocolType, int generation, string? protocol, string? leader, long stateTimestampMs, IEnumerable<GroupMember> members, long nowMs)
    {
        ProtocolType = string.IsNullOrEmpty(protocolType) ? null : protocolType;
        GenerationId = generation;
        ProtocolName = protocol;
        LeaderId = leader;
        StateTimestampMs = stateTimestampMs;
        _members.Clear();
        _staticMembers.Clear();
        foreach (var m in members)
        {
            m.LastHeartbeatMs = nowMs;
            _members[m.MemberId] = m;
            if (m.GroupInstanceId is { } instance)
            {
                _staticMembers[instance] = m.MemberId;
            }
        }

        State = _members.Count > 0 ? GroupState.Stable : GroupState.Empty;
    }

    public void MarkDead()
    {
        foreach (var m in _members.Values.ToArray())
        {
            RemoveMemberOnly(m, ErrorCode.CoordinatorNotAvailable);
        }

        State = GroupState.Dead;
    }

    private static Task<T> Done<T>(T result) => Task.FromResult(result);
}
