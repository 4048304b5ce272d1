using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Cluster.Metadata;

/// <summary>
/// The metadata log of a single-node quorum: KRaft metadata records stored in <c>__cluster_metadata-0</c>
/// with the normal segment format, one batch per commit (so a commit is atomic: recovery keeps or drops
/// the whole batch), fsynced before the commit completes, and replayed into the image at start-up. The
/// Raft quorum replaces the single writer later; the record format and the directory stay.
/// Thread-safe: commits are serialised.
/// </summary>
public sealed partial class LocalMetadataLog : IMetadataStore, IDisposable
{
    public const string TopicName = "__cluster_metadata";

    /// <summary>Kafka's fixed id for the metadata topic (Uuid.METADATA_TOPIC_ID, AAAAAAAAAAAAAAAAAAAAAQ).</summary>
    public static readonly Guid TopicId = new([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], bigEndian: true);

    private readonly PartitionLog _log;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private MetadataImage _image;

    private LocalMetadataLog(PartitionLog log, MetadataImage image, TimeProvider time)
    {
        _log = log;
        _image = image;
        _time = time;
    }

    public MetadataImage Image => Volatile.Read(ref _image);

    public event Action<MetadataImage>? ImageChanged;

    public static LocalMetadataLog Open(LogManager logs, int nodeId, TimeProvider time, ILogger<LocalMetadataLog> logger)
    {
        // Never trimmed by topic retention: the image is rebuilt from the whole log (snapshots come with Raft).
        var log = logs.GetOrCreateLog(TopicName, 0, TopicId, LogConfig.Default with { RetentionMs = -1, RetentionBytes = -1 });
        var image = Replay(log, MetadataImage.Empty(logs.ClusterId, nodeId));
        LogReplayed(logger, image.Offset + 1, image.TopicsByName.Count);
        return new LocalMetadataLog(log, image, time);
    }

    private static MetadataImage Replay(PartitionLog log, MetadataImage image)
    {
        var builder = new MetadataImageBuilder(image);
        var offset = log.LogStartOffset;
        var end = log.LogEndOffset;
        var buffer = new byte[1 << 20];
        while (offset < end)
        {
            var read = log.Read(offset, buffer.Length, end, minOneBatch: true);
            if (read.Length > buffer.Length)
            {
                buffer = new byte[read.Length];
            }

            var length = read.CopyTo(buffer.AsSpan(0, read.Length));
            if (length == 0)
            {
                break;
            }

            using var reader = new RecordBatchReader(buffer.AsMemory(0, length));
            while (reader.TryReadBatch(out var batch))
            {
                if (batch.IsControl)
                {
                    // Raft's LEADER_CHANGE and snapshot markers carry no metadata record.
                    offset = batch.NextOffset;
                    continue;
                }

                foreach (var record in reader.ReadRecords(batch))
                {
                    if (MetadataRecordSerde.Read(record.Value) is { } message)
                    {
                        builder.Apply(message, record.Offset);
                    }
                }

                offset = batch.NextOffset;
            }
        }

        return builder.Build();
    }

    public ValueTask<MetadataImage> CommitAsync(IReadOnlyList<IApiMessage> records, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            using var batch = new RecordBatchBuilder();
            using var value = new KafkaWriter(256);
            foreach (var record in records)
            {
                value.Reset();
                MetadataRecordSerde.Write(value, record);
                batch.Append(now, null, value.WrittenSpan.ToArray());
            }

            var bytes = batch.ToArray();
            var appended = _log.Append(bytes, 0, now, logAppendTime: false);
            _log.Flush();
            _log.HighWatermark = _log.LogEndOffset;

            var builder = new MetadataImageBuilder(_image);
            var offset = appended.FirstOffset;
            foreach (var record in records)
            {
                builder.Apply(record, offset++);
            }

            var next = builder.Build();
            Volatile.Write(ref _image, next);

            // Inside the lock so listeners see images in commit order.
            ImageChanged?.Invoke(next);
            return ValueTask.FromResult(next);
        }
    }

    public void Dispose()
    {
        // The log itself is owned and closed by the LogManager.
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed {Records} metadata records: {Topics} topics")]
    private static partial void LogReplayed(ILogger logger, long records, int topics);
}
