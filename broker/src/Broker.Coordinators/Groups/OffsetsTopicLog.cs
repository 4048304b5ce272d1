using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Records;

namespace Broker.Coordinators.Groups;

/// <summary>How the offsets topic is created (offsets.topic.* settings). Immutable; thread-safe.</summary>
public sealed record OffsetsTopicOptions(int NumPartitions, short ReplicationFactor, int SegmentBytes);

/// <summary>
/// <see cref="IGroupLog"/> over the broker's own <c>__consumer_offsets</c> replicas: appends as leader (which advances the
/// high watermark on a single replica) and reads whole partitions back for loading. Creates the topic through the
/// controller, compacted, like Kafka. Thread-safe.
/// </summary>
public sealed class OffsetsTopicLog : IGroupLog
{
    public const string TopicName = "__consumer_offsets";

    private readonly int _nodeId;
    private readonly IMetadataStore _metadata;
    private readonly TopicController _topics;
    private readonly ReplicaManager _replicas;
    private readonly OffsetsTopicOptions _options;

    public OffsetsTopicLog(int nodeId, IMetadataStore metadata, TopicController topics, ReplicaManager replicas, OffsetsTopicOptions options)
    {
        _nodeId = nodeId;
        _metadata = metadata;
        _topics = topics;
        _replicas = replicas;
        _options = options;
    }

    public int PartitionCount => _metadata.Image.TopicsByName.TryGetValue(TopicName, out var topic) ? topic.Partitions.Length : _options.NumPartitions;

    public int LeaderOf(int partition) =>
        _metadata.Image.TopicsByName.TryGetValue(TopicName, out var topic) && (uint)partition < (uint)topic.Partitions.Length
            ? topic.Partitions[partition].Leader
            : -1;

    /// <summary>The offsets partitions this node leads in <paramref name="image"/>.</summary>
    public HashSet<int> LedHere(MetadataImage image)
    {
        var led = new HashSet<int>();
        if (image.TopicsByName.TryGetValue(TopicName, out var topic))
        {
            foreach (var p in topic.Partitions)
            {
                if (p.Leader == _nodeId)
                {
                    led.Add(p.Partition);
                }
            }
        }

        return led;
    }

    public Task<bool> EnsureTopicAsync(CancellationToken cancellationToken) =>
        InternalTopics.EnsureAsync(_metadata, _topics, TopicName, () => new NewTopic(TopicName, _options.NumPartitions, _options.ReplicationFactor, null,
            new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["cleanup.policy"] = "compact",
                ["segment.bytes"] = _options.SegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["compression.type"] = "producer",
            }), cancellationToken);

    public ErrorCode Append(int partition, IReadOnlyList<GroupLogRecord> records, long nowMs)
    {
        var replica = _replicas.Get(TopicName, partition);
        if (replica is null || !replica.IsLeader)
        {
            return ErrorCode.NotCoordinator;
        }

        using var builder = new RecordBatchBuilder();
        foreach (var record in records)
        {
            builder.Append(nowMs, record.Key, record.Value);
        }

        var result = replica.AppendAsLeader(builder.ToArray(), nowMs);
        return result.Error;
    }

    public IEnumerable<GroupLogRecord> ReadAll(int partition)
    {
        var replica = _replicas.Get(TopicName, partition);
        if (replica is null)
        {
            yield break;
        }

        var log = replica.Log;
        var offset = log.LogStartOffset;
        var end = log.LogEndOffset;
        while (offset < end)
        {
            var read = log.Read(offset, 1 << 20, end, minOneBatch: true);
            if (read.OffsetOutOfRange || read.IsEmpty)
            {
                yield break;
            }

            var buffer = new byte[read.Length];
            read.CopyTo(buffer);
            var records = new List<GroupLogRecord>();
            using (var reader = new RecordBatchReader(buffer))
            {
                while (reader.TryReadBatch(out var batch))
                {
                    offset = batch.NextOffset;
                    if (batch.IsControl)
                    {
                        continue;
                    }

                    foreach (var record in reader.ReadRecords(batch))
                    {
                        if (record.HasKey)
                        {
                            records.Add(new GroupLogRecord(record.Key.ToArray(), record.HasValue ? record.Value.ToArray() : null));
                        }
                    }
                }
            }

            foreach (var record in records)
            {
                yield return record;
            }
        }
    }
}
