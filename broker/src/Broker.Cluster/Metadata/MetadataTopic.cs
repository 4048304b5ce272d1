namespace Broker.Cluster.Metadata;

/// <summary>
/// The names of KRaft's metadata partition, <c>__cluster_metadata-0</c>: the Raft log every node keeps in its
/// <c>metadata.log.dir</c>, in the ordinary segment format. Constants only; thread-safe.
/// </summary>
public static class MetadataTopic
{
    public const string TopicName = "__cluster_metadata";

    /// <summary>Kafka's fixed id for the metadata topic (Uuid.METADATA_TOPIC_ID, AAAAAAAAAAAAAAAAAAAAAQ).</summary>
    public static readonly Guid TopicId = new([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], bigEndian: true);
}
