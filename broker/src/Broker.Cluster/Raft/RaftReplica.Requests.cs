using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>
/// Outbound requests: at most one in flight per destination (like Kafka's per-connection request manager), a request
/// timeout, a retry backoff, and which requests each role sends when it is due.
/// </summary>
public sealed partial class RaftReplica
{
    /// <returns>The request's correlation id.</returns>
    /// <param name="endpoint">Where the binding sends it when <paramref name="destination"/> is not a node it can look up
    /// (<see cref="RaftMessage.Endpoint"/>).</param>
    private long Send(int destination, IApiMessage body, long nowMs, VoterListener? endpoint = null)
    {
        var correlationId = _nextCorrelationId++;
        _inflight[destination] = (correlationId, nowMs);
        _outbound.Enqueue(new RaftMessage(LocalId, destination, correlationId, body) { Endpoint = endpoint });
        return correlationId;
    }

    private void Reply(in RaftMessage request, IApiMessage body) =>
        _outbound.Enqueue(new RaftMessage(LocalId, request.Source, request.CorrelationId, body));

    private bool IsReady(int destination, long nowMs) =>
        !_inflight.ContainsKey(destination) && (!_readyAtMs.TryGetValue(destination, out var readyAt) || nowMs >= readyAt);

    private void Backoff(int destination, long nowMs) => _readyAtMs[destination] = nowMs + _config.RetryBackoffMs;

    /// <summary>A response is only used if it answers the request in flight to its source; older ones are dropped.</summary>
    private bool CompleteInflight(in RaftMessage response)
    {
        if (_inflight.TryGetValue(response.Source, out var inflight) && inflight.CorrelationId == response.CorrelationId)
        {
            _inflight.Remove(response.Source);
            return true;
        }

        return false;
    }

    private void ExpireRequests(long nowMs)
    {
        List<int>? expired = null;
        foreach (var (destination, inflight) in _inflight)
        {
            if (nowMs - inflight.SentMs >= _config.RequestTimeoutMs)
            {
                (expired ??= []).Add(destination);
            }
        }

        if (expired is not null)
        {
            foreach (var destination in expired)
            {
                _inflight.Remove(destination);
                Backoff(destination, nowMs);
            }
        }
    }

    private void SendDueRequests(long nowMs)
    {
        switch (Role)
        {
            case RaftRole.Candidate when !_backingOff:
                foreach (var voter in Voters.Ids)
                {
                    if (voter != LocalId && !_granted.Contains(voter) && !_rejected.Contains(voter) && IsReady(voter, nowMs))
                    {
                        Send(voter, RaftProtocol.VoteRequest(_config.ClusterId, voter, LocalId, Epoch, _log.EndOffset), nowMs);
                    }
                }

                break;
            case RaftRole.Leader:
                foreach (var voter in _leader!.UnacknowledgedVoters)
                {
                    if (IsReady(voter, nowMs))
                    {
                        Send(voter, RaftProtocol.BeginQuorumEpochRequest(_config.ClusterId, voter, LocalId, Epoch), nowMs);
                    }
                }

                break;
            case RaftRole.Resigned:
                foreach (var voter in _unacknowledgedEndEpoch)
                {
                    if (IsReady(voter, nowMs))
                    {
                        Send(voter, RaftProtocol.EndQuorumEpochRequest(_config.ClusterId, LocalId, Epoch, _preferredSuccessors), nowMs);
                    }
                }

                break;
            case RaftRole.Follower when IsReady(LeaderId, nowMs):
                SendAutoJoin(nowMs);
                if (TrySendUpdateVoter(nowMs))
                {
                    break;
                }

                if (_download is not null)
                {
                    SendFetchSnapshot(LeaderId, nowMs);
                }
                else
                {
                    SendFetch(LeaderId, nowMs);
                }

                break;
            case RaftRole.Unattached or RaftRole.Voted when !IsVoter && DiscoveryIds().Count > 0:
                // An observer without a leader asks a random bootstrap server (or voter), which answers with the leader it
                // knows and that leader's endpoint.
                var discovery = DiscoveryIds();
                var target = discovery[_random.Next(discovery.Count)];
                if (_inflight.Count == 0 && IsReady(target, nowMs))
                {
                    SendFetch(target, nowMs);
                }

                break;
        }
    }

    /// <summary>Where an observer without a leader sends its fetch: the bootstrap servers when set (as Kafka does even
    /// when the voters are known), else the voters in force.</summary>
    private IReadOnlyList<int> DiscoveryIds() =>
        _config.BootstrapServers.Count == 0 ? Voters.Ids : _config.DiscoveryIds;

    private long NextDeadline(long nowMs)
    {
        var next = Role switch
        {
            RaftRole.Unattached or RaftRole.Voted when CanElect => _electionDeadline,
            RaftRole.Candidate => _backingOff ? _backoffDeadline : _electionDeadline,
            // A passed update period waits for the leader connection (a fetch response), not for a timer.
            RaftRole.Follower => _updateVoterDeadline > nowMs ? Math.Min(_fetchDeadline, _updateVoterDeadline) : _fetchDeadline,
            RaftRole.Leader => _pendingChange is { } pending ? Math.Min(_leader!.CheckQuorumDeadline, pending.DeadlineMs) : _leader!.CheckQuorumDeadline,
            RaftRole.Resigned => _electionDeadline,
            _ => long.MaxValue,
        };

        if (_config.RetentionCheckIntervalMs > 0)
        {
            // With no interval retention runs at every poll and append, and must not make the driver spin.
            next = Math.Min(next, _retentionDeadline);
        }

        foreach (var (_, inflight) in _inflight)
        {
            next = Math.Min(next, inflight.SentMs + _config.RequestTimeoutMs);
        }

        foreach (var (_, readyAt) in _readyAtMs)
        {
            if (readyAt > nowMs)
            {
                next = Math.Min(next, readyAt);
            }
        }

        foreach (var parked in _parked)
        {
            next = Math.Min(next, parked.DeadlineMs);
        }

        if (Role is RaftRole.Unattached or RaftRole.Voted && !CanElect)
        {
            next = Math.Min(next, nowMs + _config.RetryBackoffMs);
        }

        return Math.Max(next, nowMs);
    }
}
