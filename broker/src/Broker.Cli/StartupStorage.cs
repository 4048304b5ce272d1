using Broker.Cluster.Metadata;
using Broker.Server.Configuration;
using Broker.Storage;

namespace Broker.Cli;

/// <summary>A storage check that refused to start the broker; nothing was written. The message says what and how to fix it.
/// Immutable; thread-safe.</summary>
internal sealed class StartupStorageException(string message) : Exception(message);

/// <summary>
/// <c>kafka-broker start --auto-format</c>, what a container does before the broker starts (the Apache Kafka image
/// runs <c>kafka-storage format --ignore-formatted</c> the same way): checks every log dir and the metadata log dir
/// first, then formats the unformatted ones. Refuses an unreadable meta.properties and a directory formatted for
/// another cluster or node having only read, then a directory it cannot create or write (a probe file, deleted again),
/// before formatting any.
/// The cluster id is cluster.id, else the CLUSTER_ID environment variable (the Apache Kafka image's), else the one
/// the formatted directories already share, else a new random one. Stateless; thread-safe.
/// </summary>
internal static class StartupStorage
{
    /// <summary>The Apache Kafka image's variable for the cluster id to format with.</summary>
    public const string ClusterIdVariable = "CLUSTER_ID";

    private const string WriteProbePrefix = ".kafka-broker-write-probe-";

    /// <summary>Checks, then formats what is unformatted; returns the directories formatted (none when all were) and their cluster id.</summary>
    /// <exception cref="StartupStorageException">A check failed; nothing was written.</exception>
    /// <exception cref="ConfigException"><see cref="ClusterIdVariable"/> is not a valid cluster id.</exception>
    public static (string? ClusterId, IReadOnlyList<string> Formatted) Prepare(BrokerConfig config, IReadOnlyDictionary<string, string> environment, Func<Guid> newGuid, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        var fromEnvironment = environment.TryGetValue(ClusterIdVariable, out var value) && value.Length > 0 ? value : null;
        if (fromEnvironment is not null && !LogDirFormat.IsValidUuid(fromEnvironment))
        {
            throw new ConfigException(
                $"{ClusterIdVariable}={fromEnvironment} is not a valid cluster id: expected 22 characters of unpadded base64url encoding 16 bytes " +
                "(kafka-broker storage random-uuid prints one).");
        }

        var expected = config.ClusterId ?? fromEnvironment;
        var expectedSource = config.ClusterId is not null ? "cluster.id" : ClusterIdVariable;
        var directories = config.LogDirs.Append(config.MetadataLogDir).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        var unformatted = 0;
        string? found = null;
        string? foundIn = null;
        foreach (var directory in directories)
        {
            var identity = ReadIdentity(directory);
            if (identity is null)
            {
                unformatted++;
                continue;
            }

            if (identity.NodeId != config.NodeId)
            {
                throw new StartupStorageException(
                    $"Log directory {directory} belongs to node.id {identity.NodeId} (its meta.properties), but this broker is node.id {config.NodeId}. " +
                    "Refusing to start; nothing was changed. Give each node its own data volume.");
            }

            if (expected is not null && identity.ClusterId != expected)
            {
                throw new StartupStorageException(
                    $"Log directory {directory} belongs to cluster.id {identity.ClusterId} (its meta.properties), but {expectedSource} is {expected}. " +
                    "Refusing to start; nothing was changed. Use this cluster's data volume, or an empty one.");
            }

            if (found is not null && identity.ClusterId != found)
            {
                throw new StartupStorageException(
                    $"Log directories {foundIn} and {directory} belong to different clusters ({found} and {identity.ClusterId}). " +
                    "Refusing to start; nothing was changed.");
            }

            found = identity.ClusterId;
            foundIn = directory;
        }

        // Only now anything that writes: existing directories first, so a refusal creates no directory.
        foreach (var directory in directories.OrderBy(d => Directory.Exists(d) ? 0 : 1))
        {
            CheckWritable(directory);
        }

        if (unformatted == 0)
        {
            return (found, []);
        }

        var clusterId = expected ?? found ?? LogDirFormat.NewUuid(newGuid);
        try
        {
            return (clusterId, StorageFormatter.Format(
                new StorageFormatOptions(clusterId, config.NodeId, config.LogDirs, config.MetadataLogDir) { IgnoreFormatted = true, NewGuid = newGuid },
                nowMs));
        }
        catch (StorageFormatException e)
        {
            throw new StartupStorageException(e.Message);
        }
    }

    // Reads only: a directory that does not exist yet is unformatted.
    private static LogDirIdentity? ReadIdentity(string directory)
    {
        try
        {
            return Directory.Exists(directory) ? LogDirFormat.Read(directory) : null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new StartupStorageException(
                $"Log directory {directory} holds an unreadable meta.properties: {e.Message} Refusing to start; nothing was changed.");
        }
    }

    // Creates a missing directory (an empty volume may lack the sub-directory log.dirs names) and proves it writable
    // with a probe file that is deleted again.
    private static void CheckWritable(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupStorageException(
                $"Log directory {directory} does not exist and cannot be created: {e.Message} {OwnershipHint(directory)}");
        }

        try
        {
            var probe = Path.Combine(directory, WriteProbePrefix + Environment.ProcessId);
            using (new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupStorageException($"Log directory {directory} is not writable: {e.Message} {OwnershipHint(directory)}");
        }
    }

    private static string OwnershipHint(string directory) =>
        $"Refusing to start; nothing was changed. This process runs as uid {CurrentUid()}: " +
        $"give it the volume (e.g. chown -R 1001 on the host path, or fsGroup 1001 in Kubernetes) or mount a writable volume at {directory}.";

    private static string CurrentUid()
    {
        // /proc/self/status has "Uid: real effective saved fs"; other systems just get no number.
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    return line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2];
                }
            }
        }
        catch (IOException)
        {
        }

        return "?";
    }
}
