using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.Storage.FileSystem;

namespace Broker.Cluster.Raft;

/// <summary>
/// The <c>quorum-state</c> file in the metadata partition directory, in Kafka's format (FileQuorumStateStore): one
/// line of JSON, QuorumStateData version 0 for a static voter set, with Kafka's extra <c>data_version</c> field, e.g.
/// <c>{"clusterId":"","leaderId":1,"leaderEpoch":5,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}</c>.
/// Version 1 files (<c>votedDirectoryId</c>, no voters) are read too. Written atomically: <c>quorum-state.tmp</c>,
/// fsync, rename, fsync of the directory. See docs/raft.md.
/// </summary>
/// <remarks>Owned by one <see cref="RaftReplica"/>; not thread-safe.</remarks>
public sealed class FileQuorumStateStore : IQuorumStateStore
{
    public const string FileName = "quorum-state";

    private readonly IReadOnlyList<int> _voters;

    /// <param name="directory">The metadata partition directory (<c>__cluster_metadata-0</c>).</param>
    /// <param name="voters">The static voter ids, written as <c>currentVoters</c>.</param>
    public FileQuorumStateStore(string directory, IReadOnlyList<int> voters)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(voters);
        Path = System.IO.Path.Combine(directory, FileName);
        _voters = voters;
    }

    public string Path { get; }

    public ElectionState? Read()
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        var text = DurableFile.ReadAllText(Path);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            var version = root.TryGetProperty("data_version", out var dataVersion) ? dataVersion.GetInt16() : (short)0;
            if (version is < 0 or > 1)
            {
                throw new InvalidDataException($"Unsupported quorum-state data_version {version} in '{Path}'.");
            }

            return new ElectionState(
                root.GetProperty("leaderEpoch").GetInt32(),
                root.GetProperty("leaderId").GetInt32(),
                root.GetProperty("votedId").GetInt32());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Corrupt quorum-state file '{Path}': {ex.Message}", ex);
        }
    }

    public void Write(ElectionState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        DurableFile.WriteAtomically(Path, Format(state, _voters));
    }

    /// <summary>The file's content for <paramref name="state"/> (QuorumStateData v0 field order, then data_version).</summary>
    public static string Format(ElectionState state, IReadOnlyList<int> voters)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(voters);
        var builder = new StringBuilder(128);
        builder.Append(CultureInfo.InvariantCulture,
            $"{{\"clusterId\":\"\",\"leaderId\":{state.LeaderId},\"leaderEpoch\":{state.Epoch},\"votedId\":{state.VotedId},\"appliedOffset\":0,\"currentVoters\":[");
        for (var i = 0; i < voters.Count; i++)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? "," : "")}{{\"voterId\":{voters[i]}}}");
        }

        builder.Append("],\"data_version\":0}");
        return builder.ToString();
    }
}
