using System.Globalization;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Coordinators.Groups;
using Broker.Protocol;

namespace Broker.Coordinators.Transactions;

/// <summary>The <c>__transaction_state</c> topic settings (transaction.state.log.*). Immutable.</summary>
public sealed record TransactionStateTopicOptions(int NumPartitions, short ReplicationFactor, int SegmentBytes, int MinInSyncReplicas);

/// <summary>
/// Finds the transaction coordinator of a transactional id as Kafka does (FindCoordinator key type 1): the leader of
/// <c>__transaction_state</c> partition <c>Utils.abs(transactionalId.hashCode()) % transaction.state.log.num.partitions</c>,
/// the topic being created on first use (compacted, uncompressed, transaction.state.log.* settings) while the caller
/// answers COORDINATOR_NOT_AVAILABLE. The coordinator's own APIs (transactional InitProducerId, AddPartitionsToTxn,
/// EndTxn) are not implemented yet. Thread-safe.
/// </summary>
public sealed class TransactionCoordinatorLocator
{
    public const string TopicName = "__transaction_state";

    private readonly IMetadataStore _metadata;
    private readonly TopicController _topics;
    private readonly TransactionStateTopicOptions _options;

    public TransactionCoordinatorLocator(IMetadataStore metadata, TopicController topics, TransactionStateTopicOptions options)
    {
        _metadata = metadata;
        _topics = topics;
        _options = options;
    }

    public int PartitionFor(string transactionalId) =>
        GroupPartitioner.PartitionFor(transactionalId,
            _metadata.Image.TopicsByName.TryGetValue(TopicName, out var topic) ? topic.Partitions.Length : _options.NumPartitions);

    public async Task<(ErrorCode Error, int NodeId)> FindCoordinatorAsync(string transactionalId, CancellationToken cancellationToken)
    {
        if (!await InternalTopics.EnsureAsync(_metadata, _topics, TopicName, Definition, cancellationToken).ConfigureAwait(false)
            || !_metadata.Image.TopicsByName.TryGetValue(TopicName, out var created))
        {
            return (ErrorCode.CoordinatorNotAvailable, -1);
        }

        var leader = created.Partitions[PartitionFor(transactionalId)].Leader;
        return leader < 0 ? (ErrorCode.CoordinatorNotAvailable, -1) : (ErrorCode.None, leader);
    }

    private NewTopic Definition() => new(TopicName, _options.NumPartitions, _options.ReplicationFactor, null, new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["cleanup.policy"] = "compact",
        ["compression.type"] = "uncompressed",
        ["segment.bytes"] = _options.SegmentBytes.ToString(CultureInfo.InvariantCulture),
        ["min.insync.replicas"] = _options.MinInSyncReplicas.ToString(CultureInfo.InvariantCulture),
    });
}
