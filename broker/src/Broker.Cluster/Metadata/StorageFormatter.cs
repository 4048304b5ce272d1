using Broker.Protocol.Metadata;
using Broker.Storage;

namespace Broker.Cluster.Metadata;

/// <summary>What to format: Kafka's <c>kafka-storage format</c> inputs. Immutable.</summary>
public sealed record StorageFormatOptions(string ClusterId, int NodeId, IReadOnlyList<string> LogDirs, string MetadataLogDir)
{
    /// <summary>metadata.version to bootstrap, as a release ("4.0") or exact version ("4.0-IV3"); null for the default.</summary>
    public string? ReleaseVersion { get; init; }

    /// <summary>Skip directories that are already formatted instead of refusing (--ignore-formatted).</summary>
    public bool IgnoreFormatted { get; init; }

    public Func<Guid> NewGuid { get; init; } = Guid.NewGuid;
}

/// <summary>A refused format: the message says what and how to fix it.</summary>
public sealed class StorageFormatException(string message) : Exception(message);

/// <summary>
/// Formats a node's storage as Kafka's storage tool does: checks everything first, then writes <c>meta.properties</c>
/// (cluster id, node id, a new directory id) into every unformatted log dir and the metadata log dir, and
/// <c>bootstrap.checkpoint</c> (the finalized metadata.version) into the metadata log dir when that is formatted now.
/// Refuses an invalid cluster id, an unknown release version and, unless told to ignore them, formatted directories,
/// before touching any of them. Stateless; thread-safe.
/// </summary>
public static class StorageFormatter
{
    /// <summary>Release versions this broker can bootstrap, with their metadata.version feature level.</summary>
    public static IReadOnlyList<(string Name, short Level)> ReleaseVersions { get; } =
        [("4.0-IV3", MetadataFeatures.MetadataVersionLevel), ("4.0", MetadataFeatures.MetadataVersionLevel)];

    /// <summary>Formats and returns the directories written, in order; throws <see cref="StorageFormatException"/>.</summary>
    public static IReadOnlyList<string> Format(StorageFormatOptions options, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!LogDirFormat.IsValidUuid(options.ClusterId))
        {
            throw new StorageFormatException(
                $"Cluster ID string {options.ClusterId} does not appear to be a valid UUID: expected 22 characters of unpadded base64url " +
                "encoding 16 bytes (kafka-broker storage random-uuid prints one).");
        }

        if (options.NodeId < 0)
        {
            throw new StorageFormatException($"node.id must be set to a non-negative number to format storage (got {options.NodeId}).");
        }

        var level = ResolveLevel(options.ReleaseVersion);
        var directories = options.LogDirs.Append(options.MetadataLogDir)
            .Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        var toFormat = new List<string>();
        foreach (var directory in directories)
        {
            LogDirIdentity? existing;
            try
            {
                existing = LogDirFormat.Read(directory);
            }
            catch (InvalidDataException e)
            {
                throw new StorageFormatException($"Log directory {directory} holds an unreadable meta.properties: {e.Message}");
            }

            if (existing is null)
            {
                toFormat.Add(directory);
            }
            else if (!options.IgnoreFormatted)
            {
                throw new StorageFormatException(
                    $"Log directory {directory} is already formatted (cluster.id {existing.ClusterId}, node.id {existing.NodeId}). " +
                    "Use --ignore-formatted to ignore this directory and format the others.");
            }
        }

        if (toFormat.Count == 0)
        {
            throw new StorageFormatException("All of the log directories are already formatted.");
        }

        var metadataDir = Path.GetFullPath(options.MetadataLogDir);
        foreach (var directory in toFormat)
        {
            if (directory == metadataDir)
            {
                // Before meta.properties, so a crash in between leaves the directory unformatted and formattable again.
                BootstrapCheckpoint.Write(directory, [new FeatureLevelRecord { Name = MetadataFeatures.MetadataVersion, FeatureLevel = level }], nowMs);
            }

            LogDirFormat.Write(directory, new LogDirIdentity(options.ClusterId, options.NodeId, LogDirFormat.NewDirectoryId(options.NewGuid)));
        }

        return toFormat;
    }

    private static short ResolveLevel(string? releaseVersion)
    {
        if (releaseVersion is null)
        {
            return MetadataFeatures.MetadataVersionLevel;
        }

        foreach (var (name, level) in ReleaseVersions)
        {
            if (string.Equals(name, releaseVersion, StringComparison.OrdinalIgnoreCase))
            {
                return level;
            }
        }

        throw new StorageFormatException(
            $"Unknown release version '{releaseVersion}'. Supported versions are: {string.Join(", ", ReleaseVersions.Select(r => r.Name))}.");
    }
}
