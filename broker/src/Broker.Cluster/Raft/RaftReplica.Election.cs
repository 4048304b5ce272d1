using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>Vote, BeginQuorumEpoch and EndQuorumEpoch, both sides (Kafka's KafkaRaftClient handlers).</summary>
public sealed partial class RaftReplica
{
    private bool ClusterIdMatches(string? clusterId) =>
        _config.ClusterId is null || clusterId is null || clusterId == _config.ClusterId;

    /// <summary>Kafka's validateVoterOnlyRequest.</summary>
    private short ValidateVoterOnlyRequest(int remoteId, int requestEpoch)
    {
        if (requestEpoch < Epoch)
        {
            return (short)ErrorCode.FencedLeaderEpoch;
        }

        if (remoteId < 0)
        {
            return (short)ErrorCode.InvalidRequest;
        }

        // A dynamic quorum accepts these from any replica, as Kafka does since KIP-853: the sender's voter set (or ours)
        // may be stale, and moving to its epoch is how a removed voter that missed its removal finds the leader again.
        // Whose votes count is decided by each candidate's own voter set.
        if (KRaftVersion >= 1)
        {
            return (short)ErrorCode.None;
        }

        return IsVoter && Voters.Contains(remoteId) ? (short)ErrorCode.None : RaftProtocol.InconsistentVoterSet;
    }

    private VoteResponse HandleVoteRequest(VoteRequest request, long nowMs)
    {
        if (!ClusterIdMatches(request.ClusterId))
        {
            return new VoteResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId };
        }

        if (request.Topics.Count != 1 || request.Topics[0].Partitions.Count != 1)
        {
            return new VoteResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        var partition = request.Topics[0].Partitions[0];
        if (partition.LastOffsetEpoch < 0 || partition.LastOffset < 0)
        {
            return RaftProtocol.VoteResponse((short)ErrorCode.InvalidRequest, LeaderId, Epoch, granted: false);
        }

        var error = ValidateVoterOnlyRequest(partition.CandidateId, partition.CandidateEpoch);
        if (error != (short)ErrorCode.None)
        {
            return RaftProtocol.VoteResponse(error, LeaderId, Epoch, granted: false);
        }

        if (partition.CandidateEpoch > Epoch)
        {
            BecomeUnattached(partition.CandidateEpoch, nowMs);
        }

        var candidateLog = new OffsetAndEpoch(partition.LastOffset, partition.LastOffsetEpoch);
        var granted = Role switch
        {
            // One vote per epoch, only for a log at least as up to date as ours. In a dynamic quorum a replica grants it even
            // when its own (older) log does not list it as a voter yet: the candidate's voter set decides whose votes count,
            // and refusing could leave a set that includes us without a majority (the simulation found that deadlock).
            RaftRole.Unattached => candidateLog >= _log.EndOffset,
            RaftRole.Voted => VotedId == partition.CandidateId,
            _ => false,
        };

        if (granted && Role == RaftRole.Unattached)
        {
            BecomeVoted(partition.CandidateId, nowMs);
        }

        return RaftProtocol.VoteResponse((short)ErrorCode.None, LeaderId, Epoch, granted);
    }

    private BeginQuorumEpochResponse HandleBeginQuorumEpochRequest(BeginQuorumEpochRequest request, long nowMs)
    {
        if (!ClusterIdMatches(request.ClusterId))
        {
            return new BeginQuorumEpochResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId };
        }

        if (request.Topics.Count != 1 || request.Topics[0].Partitions.Count != 1)
        {
            return new BeginQuorumEpochResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        var partition = request.Topics[0].Partitions[0];
        var error = ValidateVoterOnlyRequest(partition.LeaderId, partition.LeaderEpoch);
        if (error == (short)ErrorCode.None)
        {
            LearnLeader(partition.LeaderId, partition.LeaderEpoch, nowMs);
        }

        return RaftProtocol.BeginQuorumEpochResponse(error, LeaderId, Epoch);
    }

    private EndQuorumEpochResponse HandleEndQuorumEpochRequest(EndQuorumEpochRequest request, long nowMs)
    {
        if (!ClusterIdMatches(request.ClusterId))
        {
            return new EndQuorumEpochResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId };
        }

        if (request.Topics.Count != 1 || request.Topics[0].Partitions.Count != 1)
        {
            return new EndQuorumEpochResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        var partition = request.Topics[0].Partitions[0];
        var error = ValidateVoterOnlyRequest(partition.LeaderId, partition.LeaderEpoch);
        if (error == (short)ErrorCode.None)
        {
            LearnLeader(partition.LeaderId, partition.LeaderEpoch, nowMs);
            if (Role == RaftRole.Follower && LeaderId == partition.LeaderId && partition.LeaderEpoch == Epoch)
            {
                // The leader is going: start the election after a backoff ranked by how caught up we are.
                _fetchDeadline = nowMs + EndEpochElectionBackoff(partition);
            }
        }

        return RaftProtocol.EndQuorumEpochResponse(error, LeaderId, Epoch);
    }

    /// <summary>
    /// Kafka's endEpochElectionBackoff: the first preferred successor runs at once, the one at position k waits
    /// (max backoff &gt;&gt; (n-1)) &lt;&lt; (k-1), a voter not listed the whole max backoff, so the most caught-up voter
    /// usually wins.
    /// </summary>
    private long EndEpochElectionBackoff(EndQuorumEpochRequest.PartitionData partition)
    {
        var count = partition.PreferredCandidates.Count > 0 ? partition.PreferredCandidates.Count : partition.PreferredSuccessors.Count;
        var position = -1;
        for (var i = 0; i < count; i++)
        {
            var id = partition.PreferredCandidates.Count > 0 ? partition.PreferredCandidates[i].CandidateId : partition.PreferredSuccessors[i];
            if (id == LocalId)
            {
                position = i;
                break;
            }
        }

        return position switch
        {
            0 => 0,
            < 0 => _config.ElectionBackoffMaxMs,
            _ => Math.Min(_config.ElectionBackoffMaxMs, ((long)_config.ElectionBackoffMaxMs >> (count - 1)) << (position - 1)),
        };
    }

    private void HandleResponse(in RaftMessage message, long nowMs)
    {
        switch (message.Body)
        {
            case VoteResponse response:
                HandleVoteResponse(message.Source, response, nowMs);
                break;
            case BeginQuorumEpochResponse response:
                var begin = response.Topics.Count == 1 && response.Topics[0].Partitions.Count == 1 ? response.Topics[0].Partitions[0] : null;
                if (TryGetResult(message.Source, response.ErrorCode, begin is null ? null : (begin.ErrorCode, begin.LeaderId, begin.LeaderEpoch), nowMs)
                    && Role == RaftRole.Leader)
                {
                    _leader!.UnacknowledgedVoters.Remove(message.Source);
                }

                break;
            case EndQuorumEpochResponse response:
                var end = response.Topics.Count == 1 && response.Topics[0].Partitions.Count == 1 ? response.Topics[0].Partitions[0] : null;
                if (TryGetResult(message.Source, response.ErrorCode, end is null ? null : (end.ErrorCode, end.LeaderId, end.LeaderEpoch), nowMs)
                    && Role == RaftRole.Resigned)
                {
                    _unacknowledgedEndEpoch.Remove(message.Source);
                }

                break;
            case FetchResponse response:
                HandleFetchResponse(message.Source, response, nowMs);
                break;
            case FetchSnapshotResponse response:
                HandleFetchSnapshotResponse(message.Source, response, nowMs);
                break;
            case UpdateRaftVoterResponse response:
                HandleUpdateVoterResponse(message.Source, response, nowMs);
                break;
            case ApiVersionsResponse response:
                HandleApiVersionsResponse(message.CorrelationId, response, nowMs);
                break;

        }
    }

    private void HandleVoteResponse(int source, VoteResponse response, long nowMs)
    {
        var partition = response.Topics.Count == 1 && response.Topics[0].Partitions.Count == 1 ? response.Topics[0].Partitions[0] : null;
        if (response.ErrorCode != (short)ErrorCode.None || partition is null)
        {
            Backoff(source, nowMs);
            return;
        }

        if (HandleCommonResponse(partition.ErrorCode, partition.LeaderId, partition.LeaderEpoch, nowMs))
        {
            Backoff(source, nowMs);
            return;
        }

        if (partition.ErrorCode != (short)ErrorCode.None)
        {
            Backoff(source, nowMs);
            return;
        }

        if (Role != RaftRole.Candidate)
        {
            return;
        }

        if (partition.VoteGranted)
        {
            _granted.Add(source);
            if (GrantedVoters() >= Voters.Majority)
            {
                BecomeLeader(nowMs);
            }
        }
        else
        {
            _rejected.Add(source);
            if (!_backingOff && _rejected.Count > Voters.Count - Voters.Majority)
            {
                // A majority said no: this election is lost; try again later, after a randomised backoff.
                StartBackoff(nowMs);
            }
        }
    }

    /// <summary>Shared shape of the BeginQuorumEpoch and EndQuorumEpoch responses: true when accepted in our epoch.</summary>
    private bool TryGetResult(int source, short topLevelError, (short Error, int LeaderId, int Epoch)? partition, long nowMs)
    {
        if (topLevelError != (short)ErrorCode.None || partition is not { } result)
        {
            Backoff(source, nowMs);
            return false;
        }

        var (error, leaderId, epoch) = result;
        if (HandleCommonResponse(error, leaderId, epoch, nowMs) || error != (short)ErrorCode.None)
        {
            Backoff(source, nowMs);
            return false;
        }

        return epoch == Epoch;
    }
}
