using System.Buffers.Binary;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Metadata;

/// <summary>
/// <c>bootstrap.checkpoint</c> in the metadata log dir, written by the storage format command: the records the first
/// controller commits into an empty metadata log (feature levels such as metadata.version). Kafka's layout, a snapshot
/// file: a SNAPSHOT_HEADER control batch, one batch of metadata records, a SNAPSHOT_FOOTER control batch.
/// Stateless; thread-safe.
/// </summary>
public static class BootstrapCheckpoint
{
    public const string FileName = "bootstrap.checkpoint";

    private const short SnapshotHeaderType = 3;
    private const short SnapshotFooterType = 4;

    /// <summary>Writes <paramref name="records"/> atomically (temporary file, fsync, rename).</summary>
    public static void Write(string metadataLogDir, IReadOnlyList<IApiMessage> records, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(records);
        Directory.CreateDirectory(metadataLogDir);
        using var output = new MemoryStream();
        long offset = 0;
        WriteControl(output, ref offset, SnapshotHeaderType, new SnapshotHeaderRecord { Version = 0, LastContainedLogTimestamp = nowMs }, nowMs);
        using (var batch = new RecordBatchBuilder { BaseOffset = offset })
        using (var value = new KafkaWriter(256))
        {
            foreach (var record in records)
            {
                value.Reset();
                MetadataRecordSerde.Write(value, record);
                batch.Append(nowMs, null, value.WrittenSpan.ToArray());
            }

            output.Write(batch.ToArray());
            offset += records.Count;
        }

        WriteControl(output, ref offset, SnapshotFooterType, new SnapshotFooterRecord { Version = 0 }, nowMs);

        var path = Path.Combine(metadataLogDir, FileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(output.GetBuffer().AsSpan(0, (int)output.Length));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// The metadata records of <paramref name="metadataLogDir"/>'s bootstrap.checkpoint, or null when there is none.
    /// Throws <see cref="InvalidDataException"/> naming the file when it is corrupt.
    /// </summary>
    public static IReadOnlyList<IApiMessage>? TryRead(string metadataLogDir)
    {
        var path = Path.Combine(metadataLogDir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        var records = new List<IApiMessage>();
        try
        {
            using var reader = new RecordBatchReader(bytes);
            while (reader.TryReadBatch(out var batch))
            {
                if (!batch.IsCrcValid)
                {
                    throw new InvalidDataException($"{path}: the batch at offset {batch.BaseOffset} fails its CRC check.");
                }

                if (batch.IsControl)
                {
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

            if (reader.Position != bytes.Length)
            {
                throw new InvalidDataException($"{path}: truncated at byte {reader.Position} of {bytes.Length}.");
            }
        }
        catch (KafkaProtocolException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }

        return records;
    }

    private static void WriteControl(MemoryStream output, ref long offset, short type, IApiMessage message, long nowMs)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), type);
        using var value = new KafkaWriter(64);
        message.Write(value, 0);
        using var batch = new RecordBatchBuilder { BaseOffset = offset, IsControl = true };
        batch.Append(nowMs, key, value.WrittenSpan.ToArray());
        output.Write(batch.ToArray());
        offset++;
    }
}
