using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>
/// Voter changes on the quorum leader (KIP-853; Kafka's AddVoterHandler, RemoveVoterHandler and UpdateVoterHandler): one
/// change at a time, each a new KRAFT_VOTERS record appended by the leader; AddRaftVoter and RemoveRaftVoter are answered
/// when it commits, UpdateRaftVoter at once. The voter set itself is log state: <c>RaftReplica.Voters.cs</c>.
/// </summary>
public sealed partial class RaftReplica
{
    private PendingVoterChange? _pendingChange;

    /// <summary>Kafka's AddVoterHandler: one change at a time, by the leader, for a caught-up observer.</summary>
    private void HandleAddVoterRequest(in RaftMessage message, AddRaftVoterRequest request, long nowMs)
    {
        var error = ValidateVoterChange(request.ClusterId, nowMs, out var text);
        if (error == ErrorCode.None && Voters.Contains(request.VoterId))
        {
            (error, text) = (RaftProtocol.DuplicateVoter, $"Voter id {request.VoterId} is already a voter of {Voters}.");
        }

        if (error == ErrorCode.None && !request.Listeners.Any(l => string.Equals(l.Name, _config.ListenerName, StringComparison.OrdinalIgnoreCase)))
        {
            (error, text) = (ErrorCode.InvalidRequest, $"The listeners of voter {request.VoterId} do not include {_config.ListenerName}.");
        }

        if (error == ErrorCode.None && !_leader!.IsObserverCaughtUp(request.VoterId, request.VoterDirectoryId, nowMs))
        {
            // Kafka answers a lagging or unknown replica with a retriable timeout: it may catch up and be added on a retry.
            (error, text) = (ErrorCode.RequestTimedOut, $"Replica {request.VoterId} ({request.VoterDirectoryId}) is not a caught-up observer of this leader.");
        }

        if (error != ErrorCode.None)
        {
            Reply(message, new AddRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = text });
            return;
        }

        var voter = new RaftVoter(request.VoterId, request.VoterDirectoryId,
            [.. request.Listeners.Select(static l => new VoterListener(l.Name, l.Host, l.Port))]);
        AppendVoterChange(message, Voters.With(voter), request.TimeoutMs, removal: false, nowMs);
    }

    /// <summary>Kafka's RemoveVoterHandler: the exact (id, directory id) must be a voter, and not the last one.</summary>
    private void HandleRemoveVoterRequest(in RaftMessage message, RemoveRaftVoterRequest request, long nowMs)
    {
        var error = ValidateVoterChange(request.ClusterId, nowMs, out var text);
        if (error == ErrorCode.None
            && (Voters.TryGet(request.VoterId) is not { } voter || voter.DirectoryId != request.VoterDirectoryId || Voters.Count == 1))
        {
            (error, text) = (RaftProtocol.VoterNotFound, $"Cannot remove voter {request.VoterId} ({request.VoterDirectoryId}) from {Voters}.");
        }

        if (error != ErrorCode.None)
        {
            Reply(message, new RemoveRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = text });
            return;
        }

        AppendVoterChange(message, Voters.Without(request.VoterId), 0, removal: true, nowMs);
    }

    /// <summary>
    /// Kafka's UpdateVoterHandler: a voter (exact id and directory id) replaces its endpoints and supported kraft.version
    /// range. Answered as soon as the new set is appended, as Kafka does; the next change waits for it to commit.
    /// </summary>
    private UpdateRaftVoterResponse HandleUpdateVoterRequest(UpdateRaftVoterRequest request, long nowMs)
    {
        var error = !ClusterIdMatches(request.ClusterId) ? ErrorCode.InconsistentClusterId
            : request.CurrentLeaderEpoch < Epoch ? ErrorCode.FencedLeaderEpoch
            : request.CurrentLeaderEpoch > Epoch ? ErrorCode.UnknownLeaderEpoch
            : ValidateVoterChange(request.ClusterId, nowMs, out _);
        var feature = request.KRaftVersionFeature;
        if (error == ErrorCode.None
            && (feature.MinSupportedVersion > KRaftVersion || feature.MaxSupportedVersion < KRaftVersion
                || !request.Listeners.Any(l => string.Equals(l.Name, _config.ListenerName, StringComparison.OrdinalIgnoreCase))))
        {
            error = ErrorCode.InvalidRequest;
        }

        if (error == ErrorCode.None && (Voters.TryGet(request.VoterId) is not { } voter || voter.DirectoryId != request.VoterDirectoryId))
        {
            error = RaftProtocol.VoterNotFound;
        }

        if (error == ErrorCode.None)
        {
            var updated = new RaftVoter(request.VoterId, request.VoterDirectoryId,
                [.. request.Listeners.Select(static l => new VoterListener(l.Name, l.Host, l.Port))])
            {
                MinKRaftVersion = feature.MinSupportedVersion,
                MaxKRaftVersion = feature.MaxSupportedVersion,
            };
            AppendAsLeader(ControlBatch(_log.EndOffset.Offset, nowMs, (KRaftVotersControlType, Voters.With(updated).ToRecord())), nowMs);
        }

        var response = new UpdateRaftVoterResponse { ErrorCode = (short)error };
        response.CurrentLeader.LeaderId = LeaderId;
        response.CurrentLeader.LeaderEpoch = Epoch;
        if (LeaderId >= 0 && VoterEndpoint(LeaderId) is { } endpoint)
        {
            response.CurrentLeader.Host = endpoint.Host;
            response.CurrentLeader.Port = endpoint.Port;
        }

        return response;
    }

    /// <summary>The checks AddRaftVoter and RemoveRaftVoter share, in Kafka's order.</summary>
    private ErrorCode ValidateVoterChange(string? clusterId, long nowMs, out string? text)
    {
        text = null;
        if (!ClusterIdMatches(clusterId))
        {
            return ErrorCode.InconsistentClusterId;
        }

        if (Role != RaftRole.Leader)
        {
            text = $"Not the leader; the leader of epoch {Epoch} is {LeaderId}.";
            return ErrorCode.NotLeaderOrFollower;
        }

        if (_pendingChange is { } pending && pending.DeadlineMs > nowMs)
        {
            text = "A previous voter change is still in progress.";
            return ErrorCode.RequestTimedOut;
        }

        if (_highWatermark <= _leader!.EpochStartOffset)
        {
            text = "The leader has not committed an offset in its epoch yet.";
            return ErrorCode.RequestTimedOut;
        }

        if (KRaftVersion < 1)
        {
            text = "kraft.version is 0: the voters are static (controller.quorum.voters).";
            return ErrorCode.UnsupportedVersion;
        }

        if (_voterHistory[^1].Offset >= _highWatermark)
        {
            text = $"The voter change at offset {_voterHistory[^1].Offset} is not committed yet.";
            return ErrorCode.RequestTimedOut;
        }

        return ErrorCode.None;
    }

    private void AppendVoterChange(in RaftMessage message, VoterSet voters, int timeoutMs, bool removal, long nowMs)
    {
        var batch = ControlBatch(_log.EndOffset.Offset, nowMs, (KRaftVotersControlType, voters.ToRecord()));
        var end = AppendAsLeader(batch, nowMs);
        var deadline = nowMs + (timeoutMs > 0 ? timeoutMs : _config.RequestTimeoutMs);
        _pendingChange = new PendingVoterChange(message.Source, message.CorrelationId, end - 1, deadline, removal);
        CompleteVoterChange(nowMs);
    }

    /// <summary>Answers the change in flight once its record is committed, or with an error once it cannot be.</summary>
    private void CompleteVoterChange(long nowMs)
    {
        if (_pendingChange is not { } pending)
        {
            return;
        }

        ErrorCode error;
        if (Role != RaftRole.Leader)
        {
            error = ErrorCode.NotLeaderOrFollower;
        }
        else if (_highWatermark > pending.LastOffset)
        {
            error = ErrorCode.None;
        }
        else if (nowMs >= pending.DeadlineMs)
        {
            error = ErrorCode.RequestTimedOut;
        }
        else
        {
            return;
        }

        _pendingChange = null;
        IApiMessage response = pending.Removal
            ? new RemoveRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = null }
            : new AddRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = null };
        _outbound.Enqueue(new RaftMessage(LocalId, pending.Source, pending.CorrelationId, response));
        if (error == ErrorCode.None && pending.Removal && !IsVoter)
        {
            // Kafka's requestResign: a leader that removed itself leads until the removal commits, then steps aside.
            EnterResigned(nowMs, _leader!.PreferredSuccessors());
        }
    }

    /// <summary>The AddRaftVoter or RemoveRaftVoter request waiting for its record to commit. Immutable.</summary>
    private sealed record PendingVoterChange(int Source, long CorrelationId, long LastOffset, long DeadlineMs, bool Removal);
}
