using System.Buffers.Binary;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;

namespace Broker.Cluster.Metadata;

/// <summary>
/// A metadata image as a KRaft snapshot (Kafka's RecordsSnapshotWriter layout): a SNAPSHOT_HEADER control batch, batches
/// of metadata records that rebuild the image when replayed into an empty one by <see cref="MetadataImageBuilder"/>, and
/// a SNAPSHOT_FOOTER control batch. Batch offsets count from 0 inside the file; each batch carries the snapshot's epoch.
/// The same layout serves <c>bootstrap.checkpoint</c>. Stateless; thread-safe.
/// </summary>
public static class MetadataSnapshot
{
    private const short SnapshotHeaderType = 3;
    private const short SnapshotFooterType = 4;
    private const short KRaftVersionType = 5;
    private const short KRaftVotersType = 6;

    // Kafka's controller writes metadata batches of at most 8 KiB worth of records; a record count keeps it simple here.
    private const int RecordsPerBatch = 500;

    /// <summary>The records that rebuild <paramref name="image"/>: features first (metadata.version decides how the
    /// rest is read), then brokers, topics with their partitions and configs, broker configs, the producer-id block.</summary>
    public static List<IApiMessage> ToRecords(MetadataImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var records = new List<IApiMessage>();
        if (image.FinalizedFeatures.TryGetValue(MetadataFeatures.MetadataVersion, out var metadataVersion))
        {
            records.Add(new FeatureLevelRecord { Name = MetadataFeatures.MetadataVersion, FeatureLevel = metadataVersion });
        }

        foreach (var (name, level) in image.FinalizedFeatures)
        {
            if (name != MetadataFeatures.MetadataVersion)
            {
                records.Add(new FeatureLevelRecord { Name = name, FeatureLevel = level });
            }
        }

        foreach (var broker in image.Brokers.Values)
        {
            var register = new RegisterBrokerRecord
            {
                BrokerId = broker.NodeId,
                IncarnationId = broker.IncarnationId,
                BrokerEpoch = broker.Epoch,
                Rack = broker.Rack,
                Fenced = broker.Fenced,
                InControlledShutdown = broker.InControlledShutdown,
            };
            foreach (var endpoint in broker.Endpoints)
            {
                register.EndPoints.Add(new RegisterBrokerRecord.BrokerEndpoint
                {
                    Name = endpoint.ListenerName, Host = endpoint.Host, Port = (ushort)endpoint.Port, SecurityProtocol = endpoint.SecurityProtocol,
                });
            }

            records.Add(register);
        }

        // Topic order is the image's dictionary order; replay does not depend on it, and ids make each topic unique.
        foreach (var topic in image.TopicsById.Values)
        {
            records.Add(new TopicRecord { Name = topic.Name, TopicId = topic.TopicId });
            foreach (var partition in topic.Partitions)
            {
                records.Add(new PartitionRecord
                {
                    PartitionId = partition.Partition,
                    TopicId = topic.TopicId,
                    Replicas = [.. partition.Replicas],
                    Isr = [.. partition.Isr],
                    AddingReplicas = [.. partition.AddingReplicas],
                    RemovingReplicas = [.. partition.RemovingReplicas],
                    Leader = partition.Leader,
                    LeaderEpoch = partition.LeaderEpoch,
                    PartitionEpoch = partition.PartitionEpoch,
                    LeaderRecoveryState = partition.LeaderRecoveryState,
                });
            }

            foreach (var (name, value) in topic.Configs)
            {
                records.Add(new ConfigRecord { ResourceType = MetadataImageBuilder.TopicResource, ResourceName = topic.Name, Name = name, Value = value });
            }
        }

        foreach (var (resource, configs) in image.BrokerConfigs)
        {
            foreach (var (name, value) in configs)
            {
                records.Add(new ConfigRecord { ResourceType = MetadataImageBuilder.BrokerResource, ResourceName = resource, Name = name, Value = value });
            }
        }

        if (image.NextProducerId > 0)
        {
            records.Add(new ProducerIdsRecord { BrokerId = -1, BrokerEpoch = -1, NextProducerId = image.NextProducerId });
        }

        return records;
    }

    /// <summary>The snapshot file's bytes for <paramref name="image"/>; a dynamic quorum's snapshot also carries the
    /// voters in force at its end (KRAFT_VERSION 1 and KRAFT_VOTERS after the header, as Kafka writes them).</summary>
    public static byte[] Write(MetadataImage image, int epoch, long lastContainedTimestampMs, VotersRecord? voters = null) =>
        Encode(ToRecords(image), epoch, lastContainedTimestampMs, voters);

    /// <summary>Replays a snapshot into an empty image; the result's offset is <paramref name="endOffset"/> - 1.</summary>
    public static MetadataImage Read(ReadOnlyMemory<byte> snapshot, string clusterId, int controllerId, long endOffset, string source)
    {
        var builder = new MetadataImageBuilder(MetadataImage.Empty(clusterId, controllerId));
        foreach (var record in Decode(snapshot, source))
        {
            builder.Apply(record, endOffset - 1);
        }

        // A NoOpRecord moves the image's offset to the snapshot end even when the snapshot holds no record.
        builder.Apply(new NoOpRecord(), endOffset - 1);
        return builder.Build();
    }

    /// <summary>Header, the voters when given, <paramref name="records"/> in batches, footer.</summary>
    public static byte[] Encode(IReadOnlyList<IApiMessage> records, int epoch, long lastContainedTimestampMs, VotersRecord? voters = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var output = new MemoryStream();
        long offset = 0;
        WriteControl(output, ref offset, epoch, SnapshotHeaderType,
            new SnapshotHeaderRecord { Version = 0, LastContainedLogTimestamp = lastContainedTimestampMs }, lastContainedTimestampMs);
        if (voters is not null)
        {
            WriteControl(output, ref offset, epoch, KRaftVersionType, new KRaftVersionRecord { Version = 0, KRaftVersion = 1 }, lastContainedTimestampMs);
            WriteControl(output, ref offset, epoch, KRaftVotersType, voters, lastContainedTimestampMs);
        }

        using var value = new KafkaWriter(256);
        for (var start = 0; start < records.Count; start += RecordsPerBatch)
        {
            var end = Math.Min(records.Count, start + RecordsPerBatch);
            using var batch = new RecordBatchBuilder { BaseOffset = offset, PartitionLeaderEpoch = epoch };
            for (var i = start; i < end; i++)
            {
                value.Reset();
                MetadataRecordSerde.Write(value, records[i]);
                batch.Append(lastContainedTimestampMs, null, value.WrittenSpan.ToArray());
            }

            output.Write(batch.ToArray());
            offset += end - start;
        }

        WriteControl(output, ref offset, epoch, SnapshotFooterType, new SnapshotFooterRecord { Version = 0 }, lastContainedTimestampMs);
        return output.ToArray();
    }

    /// <summary>
    /// The metadata records of a snapshot. Throws <see cref="InvalidDataException"/> naming <paramref name="source"/>
    /// when a batch fails its CRC, the bytes end inside a batch, or the header or footer is missing.
    /// </summary>
    public static List<IApiMessage> Decode(ReadOnlyMemory<byte> snapshot, string source)
    {
        var records = new List<IApiMessage>();
        var sawHeader = false;
        var sawFooter = false;
        try
        {
            using var reader = new RecordBatchReader(snapshot);
            while (reader.TryReadBatch(out var batch))
            {
                if (!batch.IsCrcValid)
                {
                    throw new InvalidDataException($"{source}: the batch at offset {batch.BaseOffset} fails its CRC check.");
                }

                if (batch.IsControl)
                {
                    foreach (var record in reader.ReadRecords(batch))
                    {
                        var type = record.Key.Length >= 4 ? BinaryPrimitives.ReadInt16BigEndian(record.Key.Span[2..]) : (short)-1;
                        sawHeader |= type == SnapshotHeaderType;
                        sawFooter |= type == SnapshotFooterType;
                    }

                    continue;
                }

                foreach (var record in reader.ReadRecords(batch))
                {
                    if (MetadataRecordSerde.Read(record.Value) is { } message)
                    {
                        records.Add(message);
                    }
                }
            }

            if (reader.Position != snapshot.Length)
            {
                throw new InvalidDataException($"{source}: truncated at byte {reader.Position} of {snapshot.Length}.");
            }
        }
        catch (KafkaProtocolException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }

        if (!sawHeader || !sawFooter)
        {
            throw new InvalidDataException($"{source}: the snapshot has no {(sawHeader ? "footer" : "header")} record.");
        }

        return records;
    }

    /// <summary>
    /// Kafka's bootstrap checkpoint of a dynamic quorum (what <c>kafka-storage format --standalone</c> or
    /// <c>--initial-controllers</c> writes): header, KRAFT_VERSION 1, KRAFT_VOTERS, footer; no metadata records.
    /// </summary>
    public static byte[] EncodeBootstrapVoters(VotersRecord voters, long timestampMs)
    {
        ArgumentNullException.ThrowIfNull(voters);
        using var output = new MemoryStream();
        long offset = 0;
        WriteControl(output, ref offset, 0, SnapshotHeaderType, new SnapshotHeaderRecord { Version = 0, LastContainedLogTimestamp = timestampMs }, timestampMs);
        WriteControl(output, ref offset, 0, KRaftVersionType, new KRaftVersionRecord { Version = 0, KRaftVersion = 1 }, timestampMs);
        WriteControl(output, ref offset, 0, KRaftVotersType, voters, timestampMs);
        WriteControl(output, ref offset, 0, SnapshotFooterType, new SnapshotFooterRecord { Version = 0 }, timestampMs);
        return output.ToArray();
    }

    /// <summary>The last KRAFT_VOTERS control record of a snapshot, or null; throws <see cref="InvalidDataException"/>
    /// naming <paramref name="source"/> for a corrupt batch.</summary>
    public static VotersRecord? ReadVoters(ReadOnlyMemory<byte> snapshot, string source)
    {
        VotersRecord? voters = null;
        try
        {
            using var reader = new RecordBatchReader(snapshot);
            while (reader.TryReadBatch(out var batch))
            {
                if (!batch.IsCrcValid)
                {
                    throw new InvalidDataException($"{source}: the batch at offset {batch.BaseOffset} fails its CRC check.");
                }

                if (!batch.IsControl)
                {
                    continue;
                }

                foreach (var record in reader.ReadRecords(batch))
                {
                    if (record.Key.Length >= 4 && BinaryPrimitives.ReadInt16BigEndian(record.Key.Span[2..]) == KRaftVotersType)
                    {
                        var value = new KafkaReader(record.Value);
                        var read = new VotersRecord();
                        read.Read(ref value, 0);
                        voters = read;
                    }
                }
            }
        }
        catch (KafkaProtocolException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }

        return voters;
    }

    private static void WriteControl(MemoryStream output, ref long offset, int epoch, short type, IApiMessage message, long timestampMs)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), type);
        using var value = new KafkaWriter(64);
        message.Write(value, 0);
        using var batch = new RecordBatchBuilder { BaseOffset = offset, IsControl = true, PartitionLeaderEpoch = epoch };
        batch.Append(timestampMs, key, value.WrittenSpan.ToArray());
        output.Write(batch.ToArray());
        offset++;
    }
}
