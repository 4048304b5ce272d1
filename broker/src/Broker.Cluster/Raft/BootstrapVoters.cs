using System.Globalization;
using Broker.Cluster.Metadata;
using Broker.Protocol.Messages;
using Broker.Storage;

namespace Broker.Cluster.Raft;

/// <summary>A controller named by <c>kafka-storage format --initial-controllers</c> (or the node itself with
/// <c>--standalone</c>): id, controller endpoint and the directory id of its metadata log dir. Immutable.</summary>
public readonly record struct InitialController(int Id, string Host, int Port, Guid DirectoryId)
{
    /// <summary>
    /// Kafka's <c>--initial-controllers</c> value: <c>id@host:port:directoryId,...</c> (directory ids in base64url).
    /// Throws <see cref="FormatException"/> saying which entry is wrong.
    /// </summary>
    public static IReadOnlyList<InitialController> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var controllers = new List<InitialController>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var at = raw.IndexOf('@', StringComparison.Ordinal);
            var last = raw.LastIndexOf(':');
            var portColon = last > 0 ? raw.LastIndexOf(':', last - 1) : -1;
            if (at <= 0 || portColon <= at + 1 || last <= portColon + 1
                || !int.TryParse(raw.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || !int.TryParse(raw.AsSpan(portColon + 1, last - portColon - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port is <= 0 or > 65535
                || !LogDirFormat.TryParseUuid(raw[(last + 1)..], out var directoryId))
            {
                throw new FormatException($"'{raw}' is not id@host:port:directoryId (a base64url directory id, as storage random-uuid prints)");
            }

            if (controllers.Any(c => c.Id == id))
            {
                throw new FormatException($"controller id {id} appears twice");
            }

            controllers.Add(new InitialController(id, raw[(at + 1)..portColon].Trim('[', ']'), port, directoryId));
        }

        if (controllers.Count == 0)
        {
            throw new FormatException("names no controller");
        }

        return controllers;
    }
}

/// <summary>
/// The voter set of a dynamic quorum's bootstrap: Kafka's <c>__cluster_metadata-0/00000000000000000000-0000000000.checkpoint</c>
/// (KRAFT_VERSION 1 and KRAFT_VOTERS, written by the storage tool). A controller configured with
/// <c>controller.quorum.bootstrap.servers</c> alone starts from these voters (kraft.version 1); from then on the
/// KRAFT_VOTERS records of the log decide (AddRaftVoter, RemoveRaftVoter). Stateless; thread-safe.
/// </summary>
public static class BootstrapVoters
{
    /// <summary>Its snapshot id: offset 0, epoch 0 (no metadata record precedes it).</summary>
    public static readonly OffsetAndEpoch Id = new(0, 0);

    /// <summary>The metadata partition's directory under <c>metadata.log.dir</c>.</summary>
    public static string PartitionDirectory(string metadataLogDir) => Path.Combine(metadataLogDir, MetadataTopic.TopicName + "-0");

    /// <summary>Writes the checkpoint (durably, atomically) with <paramref name="controllers"/> listening on
    /// <paramref name="listenerName"/>.</summary>
    public static void Write(string metadataLogDir, IReadOnlyList<InitialController> controllers, string listenerName, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(controllers);
        var record = new VotersRecord { Version = 0 };
        foreach (var controller in controllers)
        {
            record.Voters.Add(new VotersRecord.Voter
            {
                VoterId = controller.Id,
                VoterDirectoryId = controller.DirectoryId,
                Endpoints = [new VotersRecord.Endpoint { Name = listenerName, Host = controller.Host, Port = (ushort)controller.Port }],
                KRaftVersionFeature = new VotersRecord.KRaftVersionFeature { MinSupportedVersion = 0, MaxSupportedVersion = 1 },
            });
        }

        SnapshotFiles.Write(PartitionDirectory(metadataLogDir), Id, MetadataSnapshot.EncodeBootstrapVoters(record, nowMs));
    }

    /// <summary>
    /// True when the metadata log dir is formatted (meta.properties) but holds no bootstrap voters: Kafka's
    /// <c>storage format --no-initial-controllers</c>, a controller that joins an existing dynamic quorum as an observer
    /// until it is added with AddRaftVoter.
    /// </summary>
    public static bool IsFormattedWithoutVoters(string metadataLogDir) =>
        LogDirFormat.Read(metadataLogDir) is not null
        && !File.Exists(Path.Combine(PartitionDirectory(metadataLogDir), SnapshotFiles.FileName(Id)));

    /// <summary>
    /// The voters of the checkpoint under <paramref name="metadataLogDir"/>, each at its endpoint on the first of
    /// <paramref name="listenerNames"/> it has (else its first endpoint); null when there is no checkpoint. Throws
    /// <see cref="InvalidDataException"/> when it is unreadable or names no voter.
    /// </summary>
    public static IReadOnlyList<VoterEndpoint>? TryRead(string metadataLogDir, IReadOnlyList<string> listenerNames)
    {
        ArgumentNullException.ThrowIfNull(listenerNames);
        var directory = PartitionDirectory(metadataLogDir);
        var path = Path.Combine(directory, SnapshotFiles.FileName(Id));
        if (!File.Exists(path))
        {
            return null;
        }

        var record = MetadataSnapshot.ReadVoters(SnapshotFiles.Read(directory, Id), path)
            ?? throw new InvalidDataException($"{path} holds no KRAFT_VOTERS record.");
        var voters = new List<VoterEndpoint>(record.Voters.Count);
        foreach (var voter in record.Voters)
        {
            var endpoint = voter.Endpoints.FirstOrDefault(e => listenerNames.Contains(e.Name, StringComparer.OrdinalIgnoreCase))
                ?? voter.Endpoints.FirstOrDefault()
                ?? throw new InvalidDataException($"{path}: voter {voter.VoterId} has no endpoint.");
            voters.Add(new VoterEndpoint(voter.VoterId, endpoint.Host, endpoint.Port) { DirectoryId = voter.VoterDirectoryId });
        }

        return voters.Count > 0 ? voters : throw new InvalidDataException($"{path} names no voter.");
    }
}
