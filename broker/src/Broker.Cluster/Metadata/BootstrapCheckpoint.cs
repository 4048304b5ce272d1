using Broker.Protocol.Messages;
using Broker.Storage.FileSystem;

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

    /// <summary>Writes <paramref name="records"/> atomically (temporary file, fsync, rename).</summary>
    public static void Write(string metadataLogDir, IReadOnlyList<IApiMessage> records, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(records);
        Directory.CreateDirectory(metadataLogDir);
        DurableFile.WriteAtomically(Path.Combine(metadataLogDir, FileName), MetadataSnapshot.Encode(records, epoch: -1, nowMs));
    }

    /// <summary>
    /// The metadata records of <paramref name="metadataLogDir"/>'s bootstrap.checkpoint, or null when there is none.
    /// Throws <see cref="InvalidDataException"/> naming the file when it is corrupt.
    /// </summary>
    public static IReadOnlyList<IApiMessage>? TryRead(string metadataLogDir)
    {
        var path = Path.Combine(metadataLogDir, FileName);
        return File.Exists(path) ? MetadataSnapshot.Decode(File.ReadAllBytes(path), path) : null;
    }
}
