namespace Broker.Coordinators.Groups;

/// <summary>
/// One member of a classic group: identity, timeouts, supported protocols, assignment and the waiters of its
/// in-flight JoinGroup / SyncGroup. Guarded by the owning <see cref="ClassicGroup"/>'s lock.
/// </summary>
internal sealed class GroupMember
{
    public GroupMember(string memberId, string? groupInstanceId, string clientId, string clientHost, int sessionTimeoutMs, int rebalanceTimeoutMs, IReadOnlyList<GroupProtocol> protocols)
    {
        MemberId = memberId;
        GroupInstanceId = groupInstanceId;
        ClientId = clientId;
        ClientHost = clientHost;
        SessionTimeoutMs = sessionTimeoutMs;
        RebalanceTimeoutMs = rebalanceTimeoutMs;
        Protocols = protocols;
    }

    public string MemberId { get; set; }

    public string? GroupInstanceId { get; }

    public string ClientId { get; set; }

    public string ClientHost { get; set; }

    public int SessionTimeoutMs { get; set; }

    public int RebalanceTimeoutMs { get; set; }

    public IReadOnlyList<GroupProtocol> Protocols { get; set; }

    public byte[] Assignment { get; set; } = [];

    /// <summary>Last heartbeat (or join, sync, commit); the session expires <see cref="SessionTimeoutMs"/> later.</summary>
    public long LastHeartbeatMs { get; set; }

    public TaskCompletionSource<JoinGroupResult>? JoinWaiter { get; set; }

    public TaskCompletionSource<SyncGroupResult>? SyncWaiter { get; set; }

    public bool IsAwaitingJoin => JoinWaiter is not null;

    public byte[] MetadataFor(string? protocol)
    {
        foreach (var p in Protocols)
        {
            if (p.Name == protocol)
            {
                return p.Metadata;
            }
        }

        return [];
    }

    public bool SameProtocols(IReadOnlyList<GroupProtocol> other)
    {
        if (other.Count != Protocols.Count)
        {
            return false;
        }

        for (var i = 0; i < other.Count; i++)
        {
            if (other[i].Name != Protocols[i].Name || !other[i].Metadata.AsSpan().SequenceEqual(Protocols[i].Metadata))
            {
                return false;
            }
        }

        return true;
    }
}
