namespace Broker.Cluster.Raft;

/// <summary>
/// What a replica must remember across restarts (Kafka's ElectionState): the epoch, the leader it knows in that epoch
/// and the candidate it voted for. Immutable.
/// </summary>
/// <param name="Epoch">The current epoch; never decreases.</param>
/// <param name="LeaderId">The elected leader of <paramref name="Epoch"/>, or -1.</param>
/// <param name="VotedId">The candidate this replica voted for in <paramref name="Epoch"/>, or -1.</param>
public sealed record ElectionState(int Epoch, int LeaderId, int VotedId)
{
    public const int NoId = -1;

    /// <summary>A replica that has never been part of an election.</summary>
    public static ElectionState Initial { get; } = new(0, NoId, NoId);

    public bool HasLeader => LeaderId != NoId;

    public bool HasVoted => VotedId != NoId;
}

/// <summary>Durable storage of the <see cref="ElectionState"/>. Implementations state their own thread-safety.</summary>
public interface IQuorumStateStore
{
    /// <summary>The stored state, or null when none was ever written.</summary>
    ElectionState? Read();

    /// <summary>Replaces the stored state durably: when this returns, a crash cannot bring back an older state.</summary>
    void Write(ElectionState state);
}

/// <summary>A store kept in memory (simulation: it survives a simulated crash because the object does). Not thread-safe.</summary>
public sealed class MemoryQuorumStateStore : IQuorumStateStore
{
    public ElectionState? State { get; private set; }

    /// <summary>Number of writes (tests check that a vote was persisted before it was sent).</summary>
    public int Writes { get; private set; }

    public ElectionState? Read() => State;

    public void Write(ElectionState state)
    {
        State = state;
        Writes++;
    }
}
