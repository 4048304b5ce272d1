using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>
/// A voter keeping its own record in the voter set current (KIP-853, Kafka's follower UpdateRaftVoter): in a dynamic
/// quorum a following voter whose advertised controller listeners or supported kraft.version range differ from what
/// the voter set records for its (id, directory id) asks the leader to update them.
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
