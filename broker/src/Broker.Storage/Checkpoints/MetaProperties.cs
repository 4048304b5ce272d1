using System.Globalization;
using System.Text;
using Broker.Storage.FileSystem;

namespace Broker.Storage.Checkpoints;

/// <summary>
/// <c>meta.properties</c> of a KRaft log dir (version 1): which cluster and node the directory belongs to and the
/// directory's own id. Java properties syntax, keys sorted, no date comment (it would make the file depend on the
/// clock). Immutable; thread-safe.
/// </summary>
internal sealed record MetaProperties(int Version, int NodeId, string ClusterId, Guid DirectoryId)
{
    public const int CurrentVersion = 1;

    public string Format()
    {
        var sb = new StringBuilder();
        sb.Append("cluster.id=").Append(ClusterId).Append('\n');
        sb.Append("directory.id=").Append(KafkaUuid.ToBase64Url(DirectoryId)).Append('\n');
        sb.Append("node.id=").Append(NodeId.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("version=").Append(Version.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return sb.ToString();
    }

    public void Write(string logDir) => DurableFile.WriteAtomically(Path.Combine(logDir, LogFileNames.MetaProperties), Format());

    /// <summary>Parses the file, throwing <see cref="InvalidDataException"/> naming the file and key on bad content.</summary>
    public static MetaProperties Parse(string text, string pathForErrors)
    {
        var props = ParseProperties(text);
        var version = RequiredInt(props, "version", pathForErrors);
        if (version != CurrentVersion)
        {
            throw new InvalidDataException(
                $"{pathForErrors}: version={version} is not supported (expected {CurrentVersion}, a KRaft log dir).");
        }

        var nodeId = RequiredInt(props, "node.id", pathForErrors);
        if (!props.TryGetValue("cluster.id", out var clusterId) || clusterId.Length == 0)
        {
            throw new InvalidDataException($"{pathForErrors}: cluster.id is missing.");
        }

        var directoryId = Guid.Empty;
        if (props.TryGetValue("directory.id", out var dirText) && !KafkaUuid.TryParse(dirText, out directoryId))
        {
            throw new InvalidDataException($"{pathForErrors}: directory.id '{dirText}' is not a base64url uuid.");
        }

        return new MetaProperties(version, nodeId, clusterId, directoryId);
    }

    /// <summary>Java properties, the subset Kafka writes: '#'/'!' comments, key=value or key:value, trimmed.</summary>
    internal static Dictionary<string, string> ParseProperties(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#' || line[0] == '!')
            {
                continue;
            }

            var sep = line.IndexOfAny(['=', ':']);
            if (sep < 0)
            {
                result[line] = string.Empty;
                continue;
            }

            result[line[..sep].Trim()] = line[(sep + 1)..].Trim();
        }

        return result;
    }

    private static int RequiredInt(Dictionary<string, string> props, string key, string path)
    {
        if (!props.TryGetValue(key, out var text))
        {
            throw new InvalidDataException($"{path}: {key} is missing.");
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidDataException($"{path}: {key}='{text}' is not an integer.");
        }

        return value;
    }
}
