using Broker.Protocol;

namespace Broker.Coordinators.Groups;

/// <summary>
/// A classic group's state machine (Kafka's ClassicGroup plus the join/sync/heartbeat rules of GroupMetadataManager):
/// Empty → PreparingRebalance → CompletingRebalance → Stable, with Dead once deleted. Every method must be called
/// with <see cref="Lock"/> held; waiters are completed under it and run their continuations asynchronously.
/// Deadlines are plain timestamps checked by <see cref="Tick"/>. Not thread-safe by itself: guarded by <see cref="Lock"/>.
/// </summary>
internal sealed class ClassicGroup
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

    // ---- JoinGroup ----

    public Task<JoinGroupResult> Join(JoinGroupCall call, Func<string> newUuid, long nowMs)
    {
        if (State == GroupState.Dead)
        {
            return Done(JoinGroupResult.Failed(ErrorCode.CoordinatorNotAvailable, call.MemberId));
        }

        if (!SupportsProtocols(call.ProtocolType, call.Protocols))
        {
            return Done(JoinGroupResult.Failed(ErrorCode.InconsistentGroupProtocol, call.MemberId));
        }

        if (call.MemberId.Length == 0)
        {
            return JoinNewMember(call, newUuid, nowMs);
        }

        if (call.GroupInstanceId is { } instance && _staticMembers.TryGetValue(instance, out var staticId) && staticId != call.MemberId)
        {
            return Done(JoinGroupResult.Failed(ErrorCode.FencedInstanceId, call.MemberId));
        }

        if (_pendingMembers.Remove(call.MemberId))
        {
            return AddMemberAndRebalance(call, call.MemberId, nowMs);
        }

        if (!_members.TryGetValue(call.MemberId, out var member))
        {
            return Done(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, call.MemberId));
        }

        return JoinExistingMember(member, call, nowMs);
    }

    private Task<JoinGroupResult> JoinNewMember(JoinGroupCall call, Func<string> newUuid, long nowMs)
    {
        if (call.GroupInstanceId is { } instance)
        {
            var memberId = instance + "-" + newUuid();
            if (_staticMembers.TryGetValue(instance, out var oldId) && _members.TryGetValue(oldId, out var old))
            {
                return ReplaceStaticMember(old, memberId, call, nowMs);
            }

            return AtCapacity() ? Done(JoinGroupResult.Failed(ErrorCode.GroupMaxSizeReached)) : AddMemberAndRebalance(call, memberId, nowMs);
        }

        if (AtCapacity())
        {
            return Done(JoinGroupResult.Failed(ErrorCode.GroupMaxSizeReached));
        }

        var newId = call.ClientId + "-" + newUuid();
        if (call.RequireKnownMemberId)
        {
            // KIP-394: the id is handed out first and the member only counts once it rejoins with it.
            _pendingMembers[newId] = nowMs + call.SessionTimeoutMs;
            return Done(JoinGroupResult.Failed(ErrorCode.MemberIdRequired, newId));
        }

        return AddMemberAndRebalance(call, newId, nowMs);
    }

    private bool AtCapacity() => _members.Count + _pendingMembers.Count >= _options.MaxGroupSize;

    private Task<JoinGroupResult> AddMemberAndRebalance(JoinGroupCall call, string memberId, long nowMs)
    {
        var member = new GroupMember(memberId, call.GroupInstanceId, call.ClientId, call.ClientHost, call.SessionTimeoutMs, call.RebalanceTimeoutMs, call.Protocols)
        {
            LastHeartbeatMs = nowMs,
        };
        if (_members.Count == 0)
        {
            ProtocolType = call.ProtocolType;
        }

        _members[memberId] = member;
        if (call.GroupInstanceId is { } instance)
        {
            _staticMembers[instance] = memberId;
        }

        var waiter = NewJoinWaiter(member);
        if (State == GroupState.PreparingRebalance && _initialDelayDeadlineMs != 0)
        {
            // A new member during the initial delay re-arms it, never past the rebalance timeout.
            _initialDelayDeadlineMs = Math.Min(nowMs + _options.InitialRebalanceDelayMs, _rebalanceDeadlineMs);
        }

        MaybePrepareRebalance(nowMs);
        TryCompleteJoin(nowMs);
        return waiter;
    }

    private Task<JoinGroupResult> JoinExistingMember(GroupMember member, JoinGroupCall call, long nowMs)
    {
        member.LastHeartbeatMs = nowMs;
        switch (State)
        {
            case GroupState.PreparingRebalance:
                UpdateMember(member, call);
                var waiter = NewJoinWaiter(member);
                TryCompleteJoin(nowMs);
                return waiter;
            case GroupState.CompletingRebalance:
                if (member.SameProtocols(call.Protocols))
                {
                    return Done(CurrentJoinResult(member, skipAssignment: false));
                }

                break;
            case GroupState.Stable:
                if (member.MemberId != LeaderId && member.SameProtocols(call.Protocols))
                {
                    return Done(CurrentJoinResult(member, skipAssignment: false));
                }

                break;
            default:
                return Done(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, call.MemberId));
        }

        UpdateMember(member, call);
        var rejoin = NewJoinWaiter(member);
        PrepareRebalance(nowMs);
        TryCompleteJoin(nowMs);
        return rejoin;
    }

    // KIP-345: a known instance id comes back with a new member id; the old id is fenced.
    private Task<JoinGroupResult> ReplaceStaticMember(GroupMember old, string newId, JoinGroupCall call, long nowMs)
    {
        var oldId = old.MemberId;
        old.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(ErrorCode.FencedInstanceId, oldId));
        old.JoinWaiter = null;
        old.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.FencedInstanceId));
        old.SyncWaiter = null;
        _members.Remove(oldId);
        old.MemberId = newId;
        old.ClientId = call.ClientId;
        old.ClientHost = call.ClientHost;
        old.SessionTimeoutMs = call.SessionTimeoutMs;
        old.RebalanceTimeoutMs = call.RebalanceTimeoutMs;
        old.LastHeartbeatMs = nowMs;
        _members[newId] = old;
        _staticMembers[call.GroupInstanceId!] = newId;
        if (LeaderId == oldId)
        {
            LeaderId = newId;
        }

        if (_pendingSync.Remove(oldId))
        {
            _pendingSync.Add(newId);
        }

        // Kafka's rule: the new protocols replace the old, and only a change of the group's selected protocol forces a
        // rebalance (subscription bytes may differ harmlessly, e.g. owned partitions are empty after a restart). The
        // generation and assignment stay; a leader is told to skip assigning.
        old.Protocols = call.Protocols;
        if (State == GroupState.Stable && SelectProtocol() == ProtocolName)
        {
            MetadataDirty = true;
            return Done(CurrentJoinResult(old, skipAssignment: LeaderId == newId));
        }

        var waiter = NewJoinWaiter(old);
        MaybePrepareRebalance(nowMs);
        TryCompleteJoin(nowMs);
        return waiter;
    }

    private static void UpdateMember(GroupMember member, JoinGroupCall call)
    {
        member.Protocols = call.Protocols;
        member.SessionTimeoutMs = call.SessionTimeoutMs;
        member.RebalanceTimeoutMs = call.RebalanceTimeoutMs;
        member.ClientId = call.ClientId;
        member.ClientHost = call.ClientHost;
    }

    private static Task<JoinGroupResult> NewJoinWaiter(GroupMember member)
    {
        member.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(ErrorCode.RebalanceInProgress, member.MemberId));
        member.JoinWaiter = new TaskCompletionSource<JoinGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        return member.JoinWaiter.Task;
    }

    private JoinGroupResult CurrentJoinResult(GroupMember member, bool skipAssignment)
    {
        var isLeader = member.MemberId == LeaderId;
        return new JoinGroupResult(ErrorCode.None, GenerationId, ProtocolType, ProtocolName, LeaderId ?? "", member.MemberId,
            isLeader && skipAssignment, isLeader ? MemberList() : []);
    }

    private List<JoinedMember> MemberList()
    {
        var list = new List<JoinedMember>(_members.Count);
        foreach (var m in _members.Values)
        {
            list.Add(new JoinedMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(ProtocolName)));
        }

        return list;
    }

    private bool SupportsProtocols(string protocolType, IReadOnlyList<GroupProtocol> protocols)
    {
        if (protocolType.Length == 0 || protocols.Count == 0)
        {
            return false;
        }

        if (_members.Count == 0)
        {
            return true;
        }

        if (protocolType != ProtocolType)
        {
            return false;
        }

        foreach (var p in protocols)
        {
            if (AllMembersSupport(p.Name))
            {
                return true;
            }
        }

        return false;
    }

    private bool AllMembersSupport(string protocol)
    {
        foreach (var m in _members.Values)
        {
            var found = false;
            foreach (var p in m.Protocols)
            {
                found |= p.Name == protocol;
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    // ---- rebalance ----

    private void MaybePrepareRebalance(long nowMs)
    {
        if (State is GroupState.Empty or GroupState.Stable or GroupState.CompletingRebalance)
        {
            PrepareRebalance(nowMs);
        }
    }

    private void PrepareRebalance(long nowMs)
    {
        if (State == GroupState.CompletingRebalance)
        {
            foreach (var m in _members.Values)
            {
                m.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                m.SyncWaiter = null;
            }
        }

        var wasEmpty = State == GroupState.Empty;
        _pendingSync.Clear();
        State = GroupState.PreparingRebalance;
        StateTimestampMs = nowMs;
        _rebalanceDeadlineMs = nowMs + MaxRebalanceTimeoutMs();
        _initialDelayDeadlineMs = wasEmpty && _options.InitialRebalanceDelayMs > 0
            ? Math.Min(nowMs + _options.InitialRebalanceDelayMs, _rebalanceDeadlineMs)
            : 0;
    }

    private int MaxRebalanceTimeoutMs()
    {
        var max = 0;
        foreach (var m in _members.Values)
        {
            max = Math.Max(max, m.RebalanceTimeoutMs);
        }

        return max;
    }

    private void TryCompleteJoin(long nowMs)
    {
        if (State != GroupState.PreparingRebalance || (_initialDelayDeadlineMs != 0 && nowMs < _initialDelayDeadlineMs))
        {
            return;
        }

        _initialDelayDeadlineMs = 0;
        foreach (var m in _members.Values)
        {
            if (!m.IsAwaitingJoin)
            {
                return;
            }
        }

        if (_pendingMembers.Count == 0)
        {
            CompleteJoin(nowMs);
        }
    }

    // The join phase ends: members that did not rejoin are dropped, the next generation starts.
    private void CompleteJoin(long nowMs)
    {
        _initialDelayDeadlineMs = 0;
        List<GroupMember>? missing = null;
        foreach (var m in _members.Values)
        {
            if (!m.IsAwaitingJoin)
            {
                (missing ??= []).Add(m);
            }
        }

        foreach (var m in missing ?? [])
        {
            RemoveMemberOnly(m, ErrorCode.UnknownMemberId);
        }

        GenerationId++;
        StateTimestampMs = nowMs;
        if (_members.Count == 0)
        {
            State = GroupState.Empty;
            ProtocolName = null;
            LeaderId = null;
            MetadataDirty = true;
            return;
        }

        ProtocolName = SelectProtocol();
        if (LeaderId is null || !_members.ContainsKey(LeaderId))
        {
            LeaderId = _members.Keys.First();
        }

        State = GroupState.CompletingRebalance;
        _syncDeadlineMs = nowMs + MaxRebalanceTimeoutMs();
        foreach (var m in _members.Values)
        {
            _pendingSync.Add(m.MemberId);
            m.LastHeartbeatMs = nowMs;
            var waiter = m.JoinWaiter!;
            m.JoinWaiter = null;
            waiter.TrySetResult(CurrentJoinResult(m, skipAssignment: false));
        }
    }

    // Every member votes for its most preferred protocol among those all members support; most votes wins.
    private string SelectProtocol()
    {
        var votes = new Dictionary<string, int>(StringComparer.Ordinal);
        string? best = null;
        foreach (var m in _members.Values)
        {
            foreach (var p in m.Protocols)
            {
                if (AllMembersSupport(p.Name))
                {
                    var count = votes[p.Name] = votes.GetValueOrDefault(p.Name) + 1;
                    if (best is null || count > votes[best])
                    {
                        best = p.Name;
                    }

                    break;
                }
            }
        }

        return best ?? _members.Values.First().Protocols[0].Name;
    }

    // ---- SyncGroup ----

    public Task<SyncGroupResult> Sync(SyncGroupCall call, long nowMs)
    {
        if (State == GroupState.Dead)
        {
            return Done(SyncGroupResult.Failed(ErrorCode.CoordinatorNotAvailable));
        }

        if (ValidateMember(call.MemberId, call.GroupInstanceId) is { } invalid)
        {
            return Done(SyncGroupResult.Failed(invalid));
        }

        if (call.GenerationId != GenerationId)
        {
            return Done(SyncGroupResult.Failed(ErrorCode.IllegalGeneration));
        }

        if ((call.ProtocolType is not null && call.ProtocolType != ProtocolType) || (call.ProtocolName is not null && call.ProtocolName != ProtocolName))
        {
            return Done(SyncGroupResult.Failed(ErrorCode.InconsistentGroupProtocol));
        }

        var member = _members[call.MemberId];
        member.LastHeartbeatMs = nowMs;
        switch (State)
        {
            case GroupState.PreparingRebalance:
                return Done(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
            case GroupState.CompletingRebalance:
                member.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                member.SyncWaiter = new TaskCompletionSource<SyncGroupResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                var waiter = member.SyncWaiter.Task;
                _pendingSync.Remove(member.MemberId);
                if (member.MemberId == LeaderId)
                {
                    foreach (var m in _members.Values)
                    {
                        m.Assignment = call.Assignments.TryGetValue(m.MemberId, out var bytes) ? bytes : [];
                    }

                    State = GroupState.Stable;
                    StateTimestampMs = nowMs;
                    MetadataDirty = true;
                    foreach (var m in _members.Values)
                    {
                        m.SyncWaiter?.TrySetResult(new SyncGroupResult(ErrorCode.None, ProtocolType, ProtocolName, m.Assignment));
                        m.SyncWaiter = null;
                    }
                }

                return waiter;
            case GroupState.Stable:
                _pendingSync.Remove(member.MemberId);
                return Done(new SyncGroupResult(ErrorCode.None, ProtocolType, ProtocolName, member.Assignment));
            default:
                return Done(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        }
    }

    // ---- Heartbeat and LeaveGroup ----

    public ErrorCode Heartbeat(string memberId, string? groupInstanceId, int generationId, long nowMs)
    {
        if (State == GroupState.Dead)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (State == GroupState.Empty)
        {
            return ErrorCode.UnknownMemberId;
        }

        if (ValidateMember(memberId, groupInstanceId) is { } invalid)
        {
            return invalid;
        }

        if (generationId != GenerationId)
        {
            return ErrorCode.IllegalGeneration;
        }

        _members[memberId].LastHeartbeatMs = nowMs;
        return State == GroupState.PreparingRebalance ? ErrorCode.RebalanceInProgress : ErrorCode.None;
    }

    /// <summary>Null when the member exists and its instance id (if any) maps to it.</summary>
    public ErrorCode? ValidateMember(string memberId, string? groupInstanceId)
    {
        if (groupInstanceId is not null)
        {
            if (!_staticMembers.TryGetValue(groupInstanceId, out var staticId))
            {
                return ErrorCode.UnknownMemberId;
            }

            if (staticId != memberId)
            {
                return ErrorCode.FencedInstanceId;
            }
        }

        return _members.ContainsKey(memberId) ? null : ErrorCode.UnknownMemberId;
    }

    public ErrorCode Leave(LeavingMember leaving, long nowMs)
    {
        GroupMember? member;
        if (leaving.GroupInstanceId is { } instance)
        {
            if (!_staticMembers.TryGetValue(instance, out var staticId) || !_members.TryGetValue(staticId, out member))
            {
                return ErrorCode.UnknownMemberId;
            }

            if (leaving.MemberId.Length > 0 && leaving.MemberId != staticId)
            {
                return ErrorCode.FencedInstanceId;
            }
        }
        else if (_pendingMembers.Remove(leaving.MemberId))
        {
            return ErrorCode.None;
        }
        else if (!_members.TryGetValue(leaving.MemberId, out member))
        {
            return ErrorCode.UnknownMemberId;
        }

        RemoveMember(member, nowMs);
        return ErrorCode.None;
    }

    private void RemoveMember(GroupMember member, long nowMs)
    {
        RemoveMemberOnly(member, ErrorCode.UnknownMemberId);
        MaybePrepareRebalance(nowMs);
        TryCompleteJoin(nowMs);
    }

    private void RemoveMemberOnly(GroupMember member, ErrorCode waiterError)
    {
        member.JoinWaiter?.TrySetResult(JoinGroupResult.Failed(waiterError, member.MemberId));
        member.JoinWaiter = null;
        member.SyncWaiter?.TrySetResult(SyncGroupResult.Failed(waiterError));
        member.SyncWaiter = null;
        _members.Remove(member.MemberId);
        _pendingSync.Remove(member.MemberId);
        if (member.GroupInstanceId is { } instance && _staticMembers.GetValueOrDefault(instance) == member.MemberId)
        {
            _staticMembers.Remove(instance);
        }

        if (LeaderId == member.MemberId)
        {
            LeaderId = null;
        }
    }

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
