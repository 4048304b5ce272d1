namespace Broker.Cluster.Replication;

/// <summary>The follower's fetch settings, Kafka's replica.fetch.* keys with Kafka's defaults. Immutable, except for the
/// shared follower throttle it points to.</summary>
/// <param name="NodeId">This broker (the fetch's ReplicaState.ReplicaId).</param>
/// <param name="NumFetchers">num.replica.fetchers: fetch loops per source broker.</param>
/// <param name="MaxBytes">replica.fetch.response.max.bytes.</param>
/// <param name="PartitionMaxBytes">replica.fetch.max.bytes.</param>
/// <param name="MaxWaitMs">replica.fetch.wait.max.ms.</param>
/// <param name="MinBytes">replica.fetch.min.bytes.</param>
/// <param name="BackoffMs">replica.fetch.backoff.ms: the pause of a partition (or a whole fetcher) after an error.</param>
/// <param name="RequestTimeoutMs">replica.socket.timeout.ms: a fetch without an answer this long closes the connection.</param>
/// <param name="ReconnectBackoffMs">reconnect.backoff.ms.</param>
/// <param name="ReconnectBackoffMaxMs">reconnect.backoff.max.ms.</param>
/// <param name="Throttle">The follower replication throttle (follower.replication.throttled.rate), or null for none.</param>
public sealed record ReplicaFetcherOptions(
    int NodeId,
    int NumFetchers = 1,
    int MaxBytes = 10 * 1024 * 1024,
    int PartitionMaxBytes = 1024 * 1024,
    int MaxWaitMs = 500,
    int MinBytes = 1,
    int BackoffMs = 1_000,
    int RequestTimeoutMs = 30_000,
    int ReconnectBackoffMs = 50,
    int ReconnectBackoffMaxMs = 1_000,
    ReplicationQuota? Throttle = null)
{
    /// <summary>Fetch v15+ carries ReplicaState (replica id and broker epoch) and topic ids; 17 is the newest this codebase serves.</summary>
    public const short FetchVersion = 17;
}
