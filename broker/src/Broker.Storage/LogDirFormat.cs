using Broker.Storage.Checkpoints;
using Broker.Storage.FileSystem;

namespace Broker.Storage;

/// <summary>What a formatted log dir's <c>meta.properties</c> says: its cluster, node and own directory id. Immutable.</summary>
public sealed record LogDirIdentity(string ClusterId, int NodeId, Guid DirectoryId)
{
    /// <summary>The directory id as Kafka prints it (base64url, 22 characters).</summary>
    public string DirectoryIdText => KafkaUuid.ToBase64Url(DirectoryId);
}

/// <summary>
/// Reading and writing the identity of a KRaft log dir (<c>meta.properties</c> version 1), for the storage tool and for
/// checks before start-up. <see cref="LogManager"/> verifies the same file when it opens the dirs. Stateless; thread-safe.
/// </summary>
public static class LogDirFormat
{
    /// <summary>The identity of <paramref name="logDir"/>, or null when it holds no meta.properties (not formatted).
    /// Throws <see cref="InvalidDataException"/> naming the file when it is unreadable.</summary>
    public static LogDirIdentity? Read(string logDir)
    {
        var file = Path.Combine(logDir, LogFileNames.MetaProperties);
        if (!File.Exists(file))
        {
            return null;
        }

        var meta = MetaProperties.Parse(DurableFile.ReadAllText(file), file);
        return new LogDirIdentity(meta.ClusterId, meta.NodeId, meta.DirectoryId);
    }

    /// <summary>Creates <paramref name="logDir"/> if needed and writes its meta.properties atomically (fsynced).</summary>
    public static void Write(string logDir, LogDirIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        Directory.CreateDirectory(logDir);
        new MetaProperties(MetaProperties.CurrentVersion, identity.NodeId, identity.ClusterId, identity.DirectoryId).Write(logDir);
    }

    /// <summary>Whether <paramref name="text"/> is a Kafka Uuid in its textual form (16 bytes, unpadded base64url).</summary>
    public static bool IsValidUuid(string? text) => KafkaUuid.TryParse(text, out var id) && id != Guid.Empty;

    /// <summary>Parses Kafka's base64url uuid text (22 characters, no padding).</summary>
    public static bool TryParseUuid(string? text, out Guid id) => KafkaUuid.TryParse(text, out id) && id != Guid.Empty;

    /// <summary>A new random Kafka Uuid as text (what <c>kafka-storage random-uuid</c> prints); never starts with '-'.</summary>
    /// <summary>Kafka's text form of a uuid (base64url, no padding), as directory ids are shown.</summary>
    public static string FormatUuid(Guid id) => KafkaUuid.ToBase64Url(id);

    public static string NewUuid(Func<Guid> newGuid) => KafkaUuid.ToBase64Url(KafkaUuid.NewId(newGuid));

    /// <summary>A new random directory id.</summary>
    public static Guid NewDirectoryId(Func<Guid> newGuid) => KafkaUuid.NewId(newGuid);
}
