using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Raft;

/// <summary>
/// One message into or out of the Raft core: a generated Kafka request or response between two node ids. A response
/// carries the correlation id of the request it answers, so a network binding maps it back to the connection the
/// request came on; requests the core sends get fresh correlation ids, echoed by the binding on their responses.
/// Immutable envelope; the body must not be changed once handed over.
/// </summary>
public readonly record struct RaftMessage(int Source, int Destination, long CorrelationId, IApiMessage Body)
{
    /// <summary>
    /// Where to send a request whose destination the binding cannot look up by id: the leader's ApiVersions request to a
    /// new voter, addressed to the controller listener named in AddRaftVoter (the id is in no voter set yet). Null: the
    /// binding uses <see cref="Destination"/>'s endpoint. Its response is handed back as coming from <see cref="Destination"/>.
    /// </summary>
    public VoterListener? Endpoint { get; init; }
}

/// <summary>The replica's role (Kafka's EpochState kinds; Voted is Unattached with a vote). Immutable value.</summary>
public enum RaftRole
{
    Unattached,
    Voted,
    Candidate,
    Leader,
    Follower,
    Resigned,
}

/// <summary>
/// Receives the quorum's committed batches, in offset order, each exactly once per process (after a restart the log is
/// delivered again from its start), and leader changes. Called synchronously on the thread driving the
/// <see cref="RaftReplica"/>; implementations must not call back into it.
/// </summary>
public interface IRaftListener
{
    /// <summary>A batch wholly below the high watermark. Control batches (LEADER_CHANGE) are delivered too. The
    /// batch's memory is only valid during the call.</summary>
    void OnCommitted(in RecordBatch batch);

    /// <summary>
    /// The state as of snapshot <paramref name="id"/> replaces the listener's: at start when the log has a snapshot (before
    /// any batch), and when a follower installed one fetched from the leader. Batches from <c>id.Offset</c> follow.
    /// </summary>
    void OnSnapshot(OffsetAndEpoch id, ReadOnlyMemory<byte> content);

    /// <summary>The replica learned a new epoch or the leader of its epoch (leaderId -1 when unknown).</summary>
    void OnLeaderChange(int leaderId, int epoch);
}
