using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>
/// A controller keeping its own place in the voter set (KIP-853): in a dynamic quorum a following voter whose
/// advertised controller listeners or supported kraft.version range differ from what the voter set records for its
/// (id, directory id) asks the leader to update them (UpdateRaftVoter); with <c>controller.quorum.auto.join.enable</c> an
/// observer controller adds itself (AddRaftVoter), first removing a voter entry with its id and another directory id
/// (RemoveRaftVoter). Both run once per update period, three fetch timeouts, instead of a fetch.
/// </summary>
public sealed partial class RaftReplica
{
    private long _updateVoterDeadline = long.MaxValue;

    /// <summary>This node as the voter set should record it; null when its listeners are not configured.</summary>
    public RaftVoter? LocalVoter => _config.LocalListeners.Count == 0 ? null : new RaftVoter(LocalId, DirectoryId, _config.LocalListeners);

    /// <summary>
    /// Kafka's voterNodeNeedsUpdate, under a kraft.version that allows reconfiguration: the voter set holds this exact
    /// replica (id, and directory id when recorded) with other listeners or another supported kraft.version range.
    /// </summary>
    public bool LocalVoterNeedsUpdate =>
        KRaftVersion >= 1 && LocalVoter is { } local && Voters.TryGet(LocalId) is { } recorded
        && Voters.Contains(LocalId, DirectoryId) && !recorded.SameAs(local);

    /// <summary>Kafka's update-voter period, restarted on entering the follower state: a few fetch rounds first.</summary>
    private long UpdateVoterPeriodMs => 3L * _config.FetchTimeoutMs;

    /// <summary>
    /// Once the period has passed, the next request to the leader is UpdateRaftVoter instead of a Fetch when this voter's
    /// record is stale; either way the period restarts. Kafka checks at the poll where the period expires and skips the
    /// update if a fetch is then in flight; here it waits for the leader connection to be free, so the update is not lost.
    /// </summary>
    private bool TrySendUpdateVoter(long nowMs)
    {
        if (nowMs < _updateVoterDeadline || !IsVoter)
        {
            return false;
        }

        _updateVoterDeadline = nowMs + UpdateVoterPeriodMs;
        if (!LocalVoterNeedsUpdate)
        {
            return false;
        }

        var request = new UpdateRaftVoterRequest
        {
            ClusterId = _config.ClusterId,
            CurrentLeaderEpoch = Epoch,
            VoterId = LocalId,
            VoterDirectoryId = DirectoryId,
            Listeners = [.. _config.LocalListeners.Select(static l => new UpdateRaftVoterRequest.Listener { Name = l.Name, Host = l.Host, Port = (ushort)l.Port })],
        };
        request.KRaftVersionFeature.MinSupportedVersion = RaftVoter.SupportedMinKRaftVersion;
        request.KRaftVersionFeature.MaxSupportedVersion = RaftVoter.SupportedMaxKRaftVersion;
        Send(LeaderId, request, nowMs);
        return true;
    }

    /// <summary>
    /// Auto-join, for a following observer once the period has passed: when the voter set holds its id with another
    /// directory id (its metadata log dir was replaced), RemoveRaftVoter for that old entry; otherwise AddRaftVoter for
    /// itself with its listeners. The request is not waited for: the leader answers AddRaftVoter v0 only once the new set
    /// commits, and that needs this node's fetches when it completes a majority (Kafka 4.2 added AckWhenCommitted=false
    /// to AddRaftVoter v1 for this; our protocol set stops at v0). So fetching goes on and the answer is dropped; whether
    /// it worked shows in the voter set, and the next period tries again if not (REQUEST_TIMED_OUT while this observer
    /// has not caught up, and the like). A controller removed while it runs therefore soon adds itself back, as in Kafka.
    /// </summary>
    private void SendAutoJoin(long nowMs)
    {
        if (!_config.AutoJoin || IsVoter || KRaftVersion < 1 || DirectoryId == Guid.Empty || LocalVoter is null || nowMs < _updateVoterDeadline)
        {
            return;
        }

        _updateVoterDeadline = nowMs + UpdateVoterPeriodMs;
        if (Voters.TryGet(LocalId) is { } stale)
        {
            SendUnawaited(LeaderId, new RemoveRaftVoterRequest { ClusterId = _config.ClusterId, VoterId = LocalId, VoterDirectoryId = stale.DirectoryId });
            return;
        }

        SendUnawaited(LeaderId, new AddRaftVoterRequest
        {
            ClusterId = _config.ClusterId,
            TimeoutMs = _config.RequestTimeoutMs,
            VoterId = LocalId,
            VoterDirectoryId = DirectoryId,
            Listeners = [.. _config.LocalListeners.Select(static l => new AddRaftVoterRequest.Listener { Name = l.Name, Host = l.Host, Port = (ushort)l.Port })],
        });
    }

    /// <summary>A request whose answer is not tracked (it arrives with an unknown correlation id and is dropped), so it
    /// does not hold up the fetches to the same node.</summary>
    private void SendUnawaited(int destination, IApiMessage body) =>
        _outbound.Enqueue(new RaftMessage(LocalId, destination, _nextCorrelationId++, body));

    /// <summary>Kafka's handleUpdateVoterResponse: only the common handling (a newer epoch or leader is learned); an error
    /// backs off, and the next period tries again if the record is still stale.</summary>
    private void HandleUpdateVoterResponse(int source, UpdateRaftVoterResponse response, long nowMs)
    {
        if (HandleCommonResponse(response.ErrorCode, response.CurrentLeader.LeaderId, response.CurrentLeader.LeaderEpoch, nowMs)
            || response.ErrorCode != (short)ErrorCode.None)
        {
            Backoff(source, nowMs);
        }
    }
}
