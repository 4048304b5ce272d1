using System.Buffers.Binary;
using System.Globalization;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Broker.Storage.FileSystem;

namespace Broker.Cluster.Raft;

/// <summary>
/// Raft snapshot files in the metadata partition directory, Kafka's layout: <c>&lt;20-digit end offset&gt;-&lt;10-digit
/// epoch&gt;.checkpoint</c>, written as <c>.checkpoint.part</c>, fsynced, renamed, and the directory fsynced, so a crash
/// leaves either no snapshot or a whole one (a leftover <c>.part</c> is deleted at the next listing). The content is
/// opaque here: record batches a state machine wrote (see <see cref="Metadata.MetadataSnapshot"/>).
/// Stateless; thread-safe (one writer per directory, the replica's driver).
/// </summary>
public static class SnapshotFiles
{
    public const string Suffix = ".checkpoint";
    public const string PartSuffix = ".checkpoint.part";

    /// <summary>The file name of snapshot <paramref name="id"/> (its end offset is exclusive).</summary>
    public static string FileName(OffsetAndEpoch id) =>
        id.Offset.ToString("D20", CultureInfo.InvariantCulture) + "-" + id.Epoch.ToString("D10", CultureInfo.InvariantCulture) + Suffix;

    /// <summary>Parses a snapshot file name; false for anything else (including <c>.part</c> files and <c>bootstrap.checkpoint</c>).</summary>
    public static bool TryParse(string fileName, out OffsetAndEpoch id)
    {
        id = default;
        if (fileName.Length != 20 + 1 + 10 + Suffix.Length || !fileName.EndsWith(Suffix, StringComparison.Ordinal) || fileName[20] != '-')
        {
            return false;
        }

        if (!long.TryParse(fileName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            || !int.TryParse(fileName.AsSpan(21, 10), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
        {
            return false;
        }

        id = new OffsetAndEpoch(offset, epoch);
        return true;
    }

    /// <summary>The snapshots in <paramref name="directory"/>, oldest first; removes unfinished <c>.part</c> files.</summary>
    public static List<OffsetAndEpoch> List(string directory)
    {
        var ids = new List<OffsetAndEpoch>();
        if (!Directory.Exists(directory))
        {
            return ids;
        }

        foreach (var path in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(PartSuffix, StringComparison.Ordinal))
            {
                // A crash between write and rename: the snapshot never existed.
                File.Delete(path);
            }
            else if (TryParse(name, out var id))
            {
                ids.Add(id);
            }
        }

        ids.Sort(static (a, b) => a.Offset != b.Offset ? a.Offset.CompareTo(b.Offset) : a.Epoch.CompareTo(b.Epoch));
        return ids;
    }

    /// <summary>Writes snapshot <paramref name="id"/> durably and atomically.</summary>
    public static void Write(string directory, OffsetAndEpoch id, ReadOnlySpan<byte> content)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName(id));
        var part = Path.Combine(directory, FileName(id)[..^Suffix.Length] + PartSuffix);
        using (var handle = File.OpenHandle(part, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(handle, content, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(part, path, overwrite: true);
        DurableFile.FlushDirectory(directory);
    }

    public static byte[] Read(string directory, OffsetAndEpoch id) => File.ReadAllBytes(Path.Combine(directory, FileName(id)));

    /// <summary>Bytes of snapshot <paramref name="id"/>'s file.</summary>
    public static long Size(string directory, OffsetAndEpoch id) => new FileInfo(Path.Combine(directory, FileName(id))).Length;

    /// <summary>Reads only as much of snapshot <paramref name="id"/> as its header batch needs, and returns the header's
    /// LastContainedLogTimestamp (see <see cref="ReadLastContainedTimestamp"/>).</summary>
    public static long? ReadLastContainedTimestamp(string directory, OffsetAndEpoch id)
    {
        using var handle = File.OpenHandle(Path.Combine(directory, FileName(id)));
        // The header batch is one control record: well under a kilobyte.
        var prefix = new byte[(int)Math.Min(RandomAccess.GetLength(handle), 1024)];
        var read = RandomAccess.Read(handle, prefix, 0);
        return ReadLastContainedTimestamp(prefix.AsMemory(0, read));
    }

    /// <summary>
    /// The LastContainedLogTimestamp of the SnapshotHeaderRecord a snapshot starts with (the timestamp of the last
    /// record it covers, what Kafka measures metadata.max.retention.ms from), or null when the first batch is not a valid
    /// control batch starting with that header. Never throws for malformed content.
    /// </summary>
    public static long? ReadLastContainedTimestamp(ReadOnlyMemory<byte> snapshot)
    {
        try
        {
            using var reader = new RecordBatchReader(snapshot);
            if (!reader.TryReadBatch(out var batch) || !batch.IsControl || !batch.IsCrcValid)
            {
                return null;
            }

            foreach (var record in reader.ReadRecords(batch))
            {
                if (record.Key.Length < 4 || BinaryPrimitives.ReadInt16BigEndian(record.Key.Span[2..]) != SnapshotHeaderType)
                {
                    return null;
                }

                var value = new KafkaReader(record.Value);
                var header = new SnapshotHeaderRecord();
                header.Read(ref value, 0);
                return header.LastContainedLogTimestamp;
            }
        }
        catch (KafkaProtocolException)
        {
        }

        return null;
    }

    /// <summary>Deletes the snapshots older than <paramref name="keep"/> (durably), except a dynamic quorum's bootstrap
    /// checkpoint at offset 0, which keeps the voter set (<see cref="BootstrapVoters"/>).</summary>
    public static int DeleteBefore(string directory, OffsetAndEpoch keep)
    {
        var deleted = 0;
        foreach (var id in List(directory))
        {
            if (id.Offset < keep.Offset && id.Offset > 0)
            {
                File.Delete(Path.Combine(directory, FileName(id)));
                deleted++;
            }
        }

        if (deleted > 0)
        {
            DurableFile.FlushDirectory(directory);
        }

        return deleted;
    }

    // The control record type of SnapshotHeaderRecord (Kafka's ControlRecordType.SNAPSHOT_HEADER).
    private const short SnapshotHeaderType = 3;
}
