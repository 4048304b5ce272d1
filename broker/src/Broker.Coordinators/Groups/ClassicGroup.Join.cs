using Broker.Protocol;

namespace Broker.Coordinators.Groups;

/// <summary>JoinGroup and the rebalance it drives: members joining, the protocol vote, completing the join phase. Guarded by <see cref="Lock"/>, as the rest of the group.</summary>
internal sealed partial class ClassicGroup
{
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
}
