using System.Buffers.Binary;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Raft;

/// <summary>State transitions (Kafka's QuorumState.transitionTo...): each persists the election state first.</summary>
public sealed partial class RaftReplica
{
    /// <summary>LEADER_CHANGE control record type (ControlRecordType), the key's second int16.</summary>
    private const short LeaderChangeControlType = 2;

    private void Transition(ElectionState next, RaftRole role, long nowMs)
    {
        if (next.Epoch < _election.Epoch)
        {
            throw new InvalidOperationException($"Epoch cannot go back from {_election.Epoch} to {next.Epoch}.");
        }

        var previous = _election;
        var wasLeader = Role == RaftRole.Leader;
        if (next != previous)
        {
            // Durable before anything that depends on it can leave this replica (a vote, a BeginQuorumEpoch).
            _store.Write(next);
        }

        _election = next;
        Role = role;
        _leader = null;
        _granted.Clear();
        _rejected.Clear();
        _unacknowledgedEndEpoch.Clear();
        _inflight.Clear();
        _readyAtMs.Clear();
        _backingOff = false;
        _download = null;
        _electionDeadline = long.MaxValue;
        _fetchDeadline = long.MaxValue;
        _backoffDeadline = long.MaxValue;

        // Kafka's follower state starts its update-voter period when it is entered (IsVoter is checked when it expires).
        _updateVoterDeadline = role == RaftRole.Follower ? nowMs + UpdateVoterPeriodMs : long.MaxValue;
        if (wasLeader)
        {
            // Parked fetches are answered now, with the error that tells followers to look for the new leader.
            CompleteParkedFetches(nowMs);
        }

        if (next.Epoch != previous.Epoch || next.LeaderId != previous.LeaderId)
        {
            _listener?.OnLeaderChange(next.LeaderId, next.Epoch);
        }
    }

    /// <summary>Unattached (or Voted, when the current state carries a vote) in the current election state.</summary>
    private void EnterUnattached(long nowMs)
    {
        Transition(_election, _election.HasVoted ? RaftRole.Voted : RaftRole.Unattached, nowMs);
        _electionDeadline = CanElect ? nowMs + RandomElectionTimeout() : long.MaxValue;
    }

    private void BecomeUnattached(int epoch, long nowMs)
    {
        // Kafka keeps the running election timer of an unattached, voted or candidate voter: otherwise a candidate that
        // cannot win (its log is behind) would reset everybody's timer with each new epoch and nobody would ever run.
        var keepTimer = CanElect && Role is (RaftRole.Unattached or RaftRole.Voted or RaftRole.Candidate) && _electionDeadline != long.MaxValue;
        var electionDeadline = _electionDeadline;
        Transition(new ElectionState(epoch, ElectionState.NoId, ElectionState.NoId), RaftRole.Unattached, nowMs);
        _electionDeadline = !CanElect ? long.MaxValue : keepTimer ? electionDeadline : nowMs + RandomElectionTimeout();
    }

    private void BecomeVoted(int candidateId, long nowMs)
    {
        Transition(new ElectionState(Epoch, ElectionState.NoId, candidateId), RaftRole.Voted, nowMs);
        _electionDeadline = nowMs + RandomElectionTimeout();
    }

    private void BecomeCandidate(long nowMs)
    {
        var retries = Role == RaftRole.Candidate ? _retries + 1 : 1;
        Transition(new ElectionState(Epoch + 1, ElectionState.NoId, LocalId), RaftRole.Candidate, nowMs);
        _retries = retries;
        _granted.Add(LocalId);
        _electionDeadline = nowMs + RandomElectionTimeout();
        if (GrantedVoters() >= Voters.Majority)
        {
            BecomeLeader(nowMs);
        }
    }

    private void StartBackoff(long nowMs)
    {
        _backingOff = true;
        _backoffDeadline = nowMs + ElectionBackoff(_retries);
    }

    private void BecomeLeader(long nowMs)
    {
        var granting = new List<int>(_granted);
        granting.Sort();
        Transition(new ElectionState(Epoch, LocalId, LocalId), RaftRole.Leader, nowMs);
        var epochStart = _log.EndOffset.Offset;
        _leader = new LeaderState(_config, Voters, LocalId, Epoch, epochStart, _highWatermark, nowMs);
        AppendAsLeader(LeaderChangeBatch(epochStart, granting, nowMs), nowMs);
        AppendStartOfEpochVoters(nowMs);
    }

    private void BecomeFollower(int epoch, int leaderId, long nowMs)
    {
        // The vote is kept within its epoch, so a restart can never vote twice in it.
        var voted = epoch == Epoch ? _election.VotedId : ElectionState.NoId;
        Transition(new ElectionState(epoch, leaderId, voted), RaftRole.Follower, nowMs);
        _fetchDeadline = nowMs + _config.FetchTimeoutMs;
    }

    private void EnterResigned(long nowMs, List<int> preferredSuccessors)
    {
        Transition(_election, RaftRole.Resigned, nowMs);
        _preferredSuccessors = preferredSuccessors;
        foreach (var voter in Voters.Ids)
        {
            if (voter != LocalId)
            {
                _unacknowledgedEndEpoch.Add(voter);
            }
        }

        _electionDeadline = nowMs + RandomElectionTimeout();
    }

    /// <summary>Kafka's maybeTransition: a response or request revealed a later epoch, or the leader of ours.</summary>
    private void LearnLeader(int leaderId, int epoch, long nowMs)
    {
        if (epoch > Epoch)
        {
            if (leaderId >= 0 && leaderId != LocalId)
            {
                BecomeFollower(epoch, leaderId, nowMs);
            }
            else
            {
                BecomeUnattached(epoch, nowMs);
            }
        }
        else if (epoch == Epoch && leaderId >= 0 && leaderId != LocalId && !_election.HasLeader)
        {
            BecomeFollower(epoch, leaderId, nowMs);
        }
    }

    /// <summary>
    /// Kafka's maybeHandleCommonResponse. True when the response is settled (stale, or it moved this replica to a new
    /// epoch or leader); false when the caller should go on with it.
    /// </summary>
    private bool HandleCommonResponse(short error, int leaderId, int epoch, long nowMs)
    {
        if (epoch < Epoch || error == (short)ErrorCode.UnknownLeaderEpoch)
        {
            return true;
        }

        if (epoch > Epoch || error == (short)ErrorCode.FencedLeaderEpoch || error == (short)ErrorCode.NotLeaderOrFollower)
        {
            LearnLeader(leaderId, epoch, nowMs);
            return true;
        }

        if (leaderId >= 0 && leaderId != LocalId && !_election.HasLeader)
        {
            // An observer can find the leader and take its records from the same fetch response.
            BecomeFollower(epoch, leaderId, nowMs);
            return error != (short)ErrorCode.None;
        }

        return false;
    }

    /// <summary>Appends as leader, flushes, counts the leader's own end offset and wakes parked fetches.</summary>
    private long AppendAsLeader(byte[] batch, long nowMs)
    {
        var end = _log.AppendAsLeader(batch, Epoch);
        _log.Flush();
        OnAppended(batch);
        if (_leader!.UpdateLocal(end, nowMs))
        {
            SetHighWatermark(_leader.HighWatermark);
        }

        CompleteParkedFetches(nowMs);
        return end;
    }

    private byte[] LeaderChangeBatch(long baseOffset, List<int> granting, long nowMs)
    {
        var message = new LeaderChangeMessage { Version = 0, LeaderId = LocalId };
        foreach (var voter in Voters.Ids)
        {
            message.Voters.Add(new LeaderChangeMessage.Voter { VoterId = voter });
        }

        foreach (var voter in granting)
        {
            message.GrantingVoters.Add(new LeaderChangeMessage.Voter { VoterId = voter });
        }

        var key = new byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), LeaderChangeControlType);
        using var value = new KafkaWriter(64);
        message.Write(value, 0);
        using var builder = new RecordBatchBuilder { IsControl = true, BaseOffset = baseOffset, PartitionLeaderEpoch = Epoch };
        builder.Append(nowMs, key, value.WrittenSpan.ToArray());
        return builder.ToArray();
    }
}
