using Broker.Storage.FileSystem;

namespace Broker.Storage.Checkpoints;

/// <summary>
/// <c>partition.metadata</c>: "version: 0" then "topic_id: &lt;base64url uuid&gt;". Ties a partition directory to the
/// topic incarnation it belongs to, so a recreated topic with the same name is never served from stale files.
/// Stateless; thread-safe.
/// </summary>
internal static class PartitionMetadataFile
{
    public const int CurrentVersion = 0;

    public static string Format(Guid topicId) => $"version: {CurrentVersion}\ntopic_id: {KafkaUuid.ToBase64Url(topicId)}\n";

    public static void Write(string partitionDir, Guid topicId) =>
        DurableFile.WriteAtomically(Path.Combine(partitionDir, LogFileNames.PartitionMetadata), Format(topicId));

    /// <summary>Reads the topic id; false if the file is missing or malformed.</summary>
    public static bool TryRead(string partitionDir, out Guid topicId)
    {
        topicId = Guid.Empty;
        var path = Path.Combine(partitionDir, LogFileNames.PartitionMetadata);
        if (!File.Exists(path))
        {
            return false;
        }

        return TryParse(DurableFile.ReadAllText(path), out topicId);
    }

    public static bool TryParse(string text, out Guid topicId)
    {
        topicId = Guid.Empty;
        var versionOk = false;
        var idOk = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key == "version")
            {
                versionOk = value == "0";
            }
            else if (key == "topic_id")
            {
                idOk = KafkaUuid.TryParse(value, out topicId);
            }
        }

        return versionOk && idOk;
    }
}
