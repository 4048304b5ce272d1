using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>
/// Voter changes on the quorum leader (KIP-853; Kafka's AddVoterHandler, RemoveVoterHandler and UpdateVoterHandler): one
/// change at a time, each a new KRAFT_VOTERS record appended by the leader; AddRaftVoter and RemoveRaftVoter are answered
/// when it commits, UpdateRaftVoter at once. An addition first asks the new voter for the kraft.version range it supports
/// (ApiVersions). The voter set itself is log state: <c>RaftReplica.Voters.cs</c>.
/// </summary>
public sealed partial class RaftReplica
{
    private PendingVoterChange? _pendingChange;

    /// <summary>
    /// Kafka's AddVoterHandler, first part: the checks that need nobody else, then an ApiVersions request to the new voter
    /// at the controller listener named in the request (its id is in no voter set, so the address travels with the
    /// message). From then on the addition is the one change in progress; <see cref="HandleApiVersionsResponse"/> goes on.
    /// </summary>
    private void HandleAddVoterRequest(in RaftMessage message, AddRaftVoterRequest request, long nowMs)
    {
        var error = ValidateVoterChange(request.ClusterId, nowMs, out var text);
        if (error == ErrorCode.None && Voters.Contains(request.VoterId))
        {
            (error, text) = (RaftProtocol.DuplicateVoter, $"Voter id {request.VoterId} is already a voter of {Voters}.");
        }

        var listener = request.Listeners.FirstOrDefault(l => string.Equals(l.Name, _config.ListenerName, StringComparison.OrdinalIgnoreCase));
        if (error == ErrorCode.None && listener is null)
        {
            (error, text) = (ErrorCode.InvalidRequest, $"The listeners of voter {request.VoterId} do not include {_config.ListenerName}.");
        }

        if (error == ErrorCode.None && !IsReady(request.VoterId, nowMs))
        {
            // Kafka's answer when its channel cannot send to the node now (a request in flight or a connection backoff).
            (error, text) = (ErrorCode.RequestTimedOut, $"New voter {request.VoterId} ({request.VoterDirectoryId}) is not ready to receive requests.");
        }

        if (error != ErrorCode.None)
        {
            Reply(message, new AddRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = text });
            return;
        }

        var voter = new RaftVoter(request.VoterId, request.VoterDirectoryId,
            [.. request.Listeners.Select(static l => new VoterListener(l.Name, l.Host, l.Port))]);
        var apiVersions = Send(request.VoterId, RaftProtocol.ApiVersionsRequest(), nowMs, new VoterListener(listener!.Name, listener.Host, listener.Port));
        var deadline = nowMs + (request.TimeoutMs > 0 ? request.TimeoutMs : _config.RequestTimeoutMs);
        _pendingChange = new PendingVoterChange(message.Source, message.CorrelationId, -1, deadline, Removal: false)
        {
            Joining = voter,
            ApiVersionsCorrelationId = apiVersions,
        };
    }

    /// <summary>
    /// Kafka's AddVoterHandler, second part: the new voter's ApiVersions answer. An error aborts (REQUEST_TIMED_OUT); a
    /// kraft.version range without the finalized version aborts (INVALID_REQUEST); a voter that is not a caught-up
    /// observer aborts (REQUEST_TIMED_OUT, it may catch up and be added on a retry). Otherwise the new set, recording the
    /// range the voter reported, is appended and the answer waits for it to commit. Answers that no pending addition
    /// expects (stale, or after the change ended) are dropped.
    /// </summary>
    private void HandleApiVersionsResponse(long correlationId, ApiVersionsResponse response, long nowMs)
    {
        if (Role != RaftRole.Leader || _pendingChange is not { Joining: { } voter } pending || pending.ApiVersionsCorrelationId != correlationId)
        {
            return;
        }

        var (min, max) = RaftProtocol.SupportedKRaftVersions(response);
        string text;
        if (response.ErrorCode != (short)ErrorCode.None)
        {
            text = $"Adding voter {voter.Id} ({voter.DirectoryId}) was aborted: its ApiVersions answer was error {response.ErrorCode}.";
            FinishVoterChange(pending, ErrorCode.RequestTimedOut, text, nowMs);
        }
        else if (min > KRaftVersion || max < KRaftVersion)
        {
            text = $"Adding voter {voter.Id} ({voter.DirectoryId}) was aborted: it supports kraft.version {min}-{max}, "
                + $"which does not include the finalized version {KRaftVersion}.";
            FinishVoterChange(pending, ErrorCode.InvalidRequest, text, nowMs);
        }
        else if (!_leader!.IsObserverCaughtUp(voter.Id, voter.DirectoryId, nowMs))
        {
            text = $"Adding voter {voter.Id} ({voter.DirectoryId}) was aborted: it is not a caught-up observer of this leader.";
            FinishVoterChange(pending, ErrorCode.RequestTimedOut, text, nowMs);
        }
        else
        {
            var joining = voter with { MinKRaftVersion = min, MaxKRaftVersion = max };
            var end = AppendAsLeader(ControlBatch(_log.EndOffset.Offset, nowMs, (KRaftVotersControlType, Voters.With(joining).ToRecord())), nowMs);
            _pendingChange = pending with { LastOffset = end - 1, Joining = null, ApiVersionsCorrelationId = -1 };
        }
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

        var end = AppendAsLeader(ControlBatch(_log.EndOffset.Offset, nowMs, (KRaftVotersControlType, Voters.Without(request.VoterId).ToRecord())), nowMs);
        _pendingChange = new PendingVoterChange(message.Source, message.CorrelationId, end - 1, nowMs + _config.RequestTimeoutMs, Removal: true);
        CompleteVoterChange(nowMs);
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

    /// <summary>Answers the change in flight once its record is committed, or with an error once it cannot be.</summary>
    private void CompleteVoterChange(long nowMs)
    {
        if (_pendingChange is not { } pending)
        {
            return;
        }

        ErrorCode error;
        string? text = null;
        if (Role != RaftRole.Leader)
        {
            (error, text) = (ErrorCode.NotLeaderOrFollower, "Leadership was lost before the voter change completed.");
        }
        else if (pending.Joining is { } joining)
        {
            // Still waiting for the new voter's ApiVersions: its request expired unanswered, or the change's own timeout passed.
            if (_inflight.TryGetValue(joining.Id, out var inflight) && inflight.CorrelationId == pending.ApiVersionsCorrelationId && nowMs < pending.DeadlineMs)
            {
                return;
            }

            (error, text) = (ErrorCode.RequestTimedOut, $"New voter {joining.Id} ({joining.DirectoryId}) did not answer ApiVersions in time.");
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

        FinishVoterChange(pending, error, text, nowMs);
    }

    private void FinishVoterChange(PendingVoterChange pending, ErrorCode error, string? text, long nowMs)
    {
        _pendingChange = null;
        if (pending.Joining is { } joining && _inflight.TryGetValue(joining.Id, out var inflight) && inflight.CorrelationId == pending.ApiVersionsCorrelationId)
        {
            // A late answer is of no use any more; the node can be asked again at once.
            _inflight.Remove(joining.Id);
        }

        IApiMessage response = pending.Removal
            ? new RemoveRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = text }
            : new AddRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = text };
        _outbound.Enqueue(new RaftMessage(LocalId, pending.Source, pending.CorrelationId, response));
        if (error == ErrorCode.None && pending.Removal && !IsVoter)
        {
            // Kafka's requestResign: a leader that removed itself leads until the removal commits, then steps aside.
            EnterResigned(nowMs, _leader!.PreferredSuccessors());
        }
    }

    /// <summary>
    /// The AddRaftVoter or RemoveRaftVoter request in progress: an addition first waits for the new voter's ApiVersions
    /// answer (<see cref="Joining"/> set, <see cref="LastOffset"/> -1), then, like a removal, for its record to commit.
    /// Immutable.
    /// </summary>
    private sealed record PendingVoterChange(int Source, long CorrelationId, long LastOffset, long DeadlineMs, bool Removal)
    {
        /// <summary>The voter being added while its ApiVersions answer is awaited; null once its record is appended.</summary>
        public RaftVoter? Joining { get; init; }

        /// <summary>The correlation id of the ApiVersions request to <see cref="Joining"/>.</summary>
        public long ApiVersionsCorrelationId { get; init; } = -1;
    }
}
