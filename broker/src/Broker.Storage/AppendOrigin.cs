namespace Broker.Storage;

/// <summary>Who is appending, which decides the checks an append gets (Kafka's AppendOrigin).</summary>
public enum AppendOrigin
{
    /// <summary>A producer's batch on the leader: producer epoch and sequence are checked, retries deduplicated.</summary>
    Client,

    /// <summary>Batches copied from a leader, or written by the broker itself: producer state is updated, not checked.</summary>
    Replication,
}
