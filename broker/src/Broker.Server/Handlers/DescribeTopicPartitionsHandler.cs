using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// DescribeTopicPartitions (75, KIP-966): topics and partitions in name order, at most response_partition_limit
/// partitions per response (capped at Kafka's max.request.partition.size.limit, 2000), resumed from a cursor; the
/// next cursor names the first partition not returned. An empty topic list means every topic (unknown names are then
/// impossible); named topics that do not exist come back with UNKNOWN_TOPIC_OR_PARTITION. A cursor whose topic is not
/// in the list, or with a negative partition, is an INVALID_REQUEST for every topic, as in Kafka. Thread-safe.
/// </summary>
internal sealed class DescribeTopicPartitionsHandler : ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>
{
    /// <summary>Kafka's max.request.partition.size.limit default.</summary>
    public const int MaxPartitionLimit = 2000;

    private readonly BrokerServices _services;

    public DescribeTopicPartitionsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 75;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<DescribeTopicPartitionsResponse?> HandleAsync(
        RequestContext context, DescribeTopicPartitionsRequest request, CancellationToken cancellationToken)
    {
        var image = _services.Metadata.Image;
        var all = request.Topics.Count == 0;
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var topic in all ? image.TopicsByName.Keys : request.Topics.Select(t => t.Name))
        {
            names.Add(topic);
        }

        var response = new DescribeTopicPartitionsResponse { NextCursor = null };
        var cursor = request.Cursor;
        if (cursor is not null && ((!all && !names.Contains(cursor.TopicName)) || cursor.PartitionIndex < 0))
        {
            foreach (var name in names)
            {
                response.Topics.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic
                {
                    Name = name,
                    ErrorCode = (short)ErrorCode.InvalidRequest,
                    IsInternal = TopicNames.IsInternal(name),
                });
            }

            return ValueTask.FromResult<DescribeTopicPartitionsResponse?>(response);
        }

        var remaining = Math.Max(Math.Min(MaxPartitionLimit, request.ResponsePartitionLimit), 1);
        foreach (var name in names)
        {
            if (cursor is not null && string.CompareOrdinal(name, cursor.TopicName) < 0)
            {
                continue;
            }

            if (remaining == 0)
            {
                response.NextCursor = new DescribeTopicPartitionsResponse.Cursor { TopicName = name, PartitionIndex = 0 };
                break;
            }

            if (!image.TopicsByName.TryGetValue(name, out var topic))
            {
                response.Topics.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic
                {
                    Name = name,
                    ErrorCode = (short)(TopicNames.Validate(name) is null ? ErrorCode.UnknownTopicOrPartition : ErrorCode.InvalidTopicException),
                    IsInternal = TopicNames.IsInternal(name),
                });
                continue;
            }

            var first = cursor is not null && name == cursor.TopicName ? cursor.PartitionIndex : 0;
            var result = new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic
            {
                Name = name,
                TopicId = topic.TopicId,
                IsInternal = topic.IsInternal,
                TopicAuthorizedOperations = AuthorizedOperations.AllOnTopic,
            };
            response.Topics.Add(result);
            var index = first;
            for (; index < topic.Partitions.Length && remaining > 0; index++, remaining--)
            {
                result.Partitions.Add(Partition(image, context.ListenerName, topic.Partitions[index]));
            }

            if (index < topic.Partitions.Length)
            {
                response.NextCursor = new DescribeTopicPartitionsResponse.Cursor { TopicName = name, PartitionIndex = index };
                break;
            }
        }

        return ValueTask.FromResult<DescribeTopicPartitionsResponse?>(response);
    }

    private static DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponsePartition Partition(MetadataImage image, string listenerName, PartitionInfo info) => new()
    {
        PartitionIndex = info.Partition,
        LeaderId = info.Leader,
        LeaderEpoch = info.LeaderEpoch,
        ReplicaNodes = [.. info.Replicas],
        IsrNodes = [.. info.Isr],
        EligibleLeaderReplicas = [],
        LastKnownElr = [],
        OfflineReplicas = MetadataHandler.OfflineReplicas(image, listenerName, info),
    };
}
