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

    /// <summary>
    /// A dynamic quorum's initial voters (<c>--initial-controllers</c>, or this node alone for <c>--standalone</c> with
    /// <see cref="Guid.Empty"/> as its directory id, replaced by the new one): written as the bootstrap checkpoint of
    /// the metadata log dir, whose directory id is this node's entry's. Null for a static quorum.
    /// </summary>
    public IReadOnlyList<Raft.InitialController>? InitialControllers { get; init; }

    /// <summary>The controller listener the initial voters' endpoints belong to (the first of controller.listener.names).</summary>
    public string ControllerListenerName { get; init; } = "CONTROLLER";
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
        Raft.InitialController? self = null;
        if (options.InitialControllers is { } initial)
        {
            self = initial.Where(c => c.Id == options.NodeId).Select(c => (Raft.InitialController?)c).FirstOrDefault();
            if (self is null)
            {
                throw new StorageFormatException(
                    $"node.id {options.NodeId} is not one of the initial controllers ({string.Join(',', initial.Select(c => c.Id))}).");
            }

            if (!toFormat.Contains(metadataDir))
            {
                throw new StorageFormatException($"The metadata log directory {metadataDir} is already formatted: its voters cannot be written.");
            }
        }

        foreach (var directory in toFormat)
        {
            var directoryId = LogDirFormat.NewDirectoryId(options.NewGuid);
            if (directory == metadataDir)
            {
                // Before meta.properties, so a crash in between leaves the directory unformatted and formattable again.
                BootstrapCheckpoint.Write(directory, [new FeatureLevelRecord { Name = MetadataFeatures.MetadataVersion, FeatureLevel = level }], nowMs);
                if (self is { } me && options.InitialControllers is { } voters)
                {
                    directoryId = me.DirectoryId == Guid.Empty ? directoryId : me.DirectoryId;
                    Raft.BootstrapVoters.Write(directory, [.. voters.Select(v => v.Id == me.Id ? v with { DirectoryId = directoryId } : v)],
                        options.ControllerListenerName, nowMs);
                }
            }

            LogDirFormat.Write(directory, new LogDirIdentity(options.ClusterId, options.NodeId, directoryId));
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
