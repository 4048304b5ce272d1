using Broker.Protocol;

namespace Broker.Coordinators.Groups;

/// <summary>SyncGroup, Heartbeat and LeaveGroup of a classic group. Guarded by <see cref="Lock"/>, as the rest of the group.</summary>
internal sealed partial class ClassicGroup
{
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
}
