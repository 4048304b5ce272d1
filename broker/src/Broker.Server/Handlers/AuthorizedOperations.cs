namespace Broker.Server.Handlers;

/// <summary>
/// Authorized-operation bit sets for Metadata and DescribeCluster, by Kafka's AclOperation ids (READ 3, WRITE 4,
/// CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
/// IDEMPOTENT_WRITE 12). There is no authorizer yet, so a caller may do everything a resource supports.
/// </summary>
internal static class AuthorizedOperations
{
    /// <summary>Kafka's sentinel for "the client did not ask".</summary>
    public const int NotRequested = int.MinValue;

    /// <summary>READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.</summary>
    public const int AllOnTopic = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

    /// <summary>CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.</summary>
    public const int AllOnCluster = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
}
