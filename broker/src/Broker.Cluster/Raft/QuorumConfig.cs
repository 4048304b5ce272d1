using System.Globalization;

namespace Broker.Cluster.Raft;

/// <summary>A voter's controller endpoint from <c>controller.quorum.voters</c> (or the bootstrap checkpoint, which also
/// names the directory id of the voter's metadata log dir). Immutable.</summary>
public readonly record struct VoterEndpoint(int Id, string Host, int Port)
{
    /// <summary>The voter's directory id; <see cref="Guid.Empty"/> when unknown (a static quorum).</summary>
    public Guid DirectoryId { get; init; }
}

/// <summary>
/// The quorum's configuration with Kafka's keys and defaults (QuorumConfig): the static voter set and the timers.
/// Immutable.
/// </summary>
public sealed record QuorumConfig
{
    public const string VotersKey = "controller.quorum.voters";
    public const string BootstrapServersKey = "controller.quorum.bootstrap.servers";
    public const string ElectionTimeoutKey = "controller.quorum.election.timeout.ms";
    public const string FetchTimeoutKey = "controller.quorum.fetch.timeout.ms";
    public const string ElectionBackoffMaxKey = "controller.quorum.election.backoff.max.ms";
    public const string RequestTimeoutKey = "controller.quorum.request.timeout.ms";
    public const string RetryBackoffKey = "controller.quorum.retry.backoff.ms";

    public QuorumConfig(IReadOnlyList<VoterEndpoint> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        var ids = new List<int>(voters.Count);
        foreach (var voter in voters)
        {
            if (voter.Id < 0 || ids.Contains(voter.Id))
            {
                throw new ArgumentException($"{VotersKey}: voter id {voter.Id} is negative or repeated.", nameof(voters));
            }

            ids.Add(voter.Id);
        }

        ids.Sort();
        Voters = voters;
        VoterIds = ids;
    }

    public IReadOnlyList<VoterEndpoint> Voters { get; }

    /// <summary>Voter ids, ascending.</summary>
    public IReadOnlyList<int> VoterIds { get; }

    /// <summary>
    /// <c>controller.quorum.bootstrap.servers</c> (KIP-853): endpoints an observer asks to find the leader, numbered -2,
    /// -3, ... as Kafka numbers them (their node ids are unknown). Empty when not set.
    /// </summary>
    public IReadOnlyList<VoterEndpoint> BootstrapServers { get; init; } = [];

    /// <summary>Where an observer without a leader sends its fetch: the bootstrap servers when set (as Kafka does even
    /// when the voters are known), else the voters.</summary>
    public IReadOnlyList<int> DiscoveryIds =>
        BootstrapServers.Count == 0 ? VoterIds : [.. BootstrapServers.Select(static b => b.Id)];

    /// <summary>Base election timeout; the timeout in force is drawn from [T, 2T).</summary>
    public int ElectionTimeoutMs { get; init; } = 1000;

    /// <summary>A follower with no successful fetch this long starts an election; a leader without fetches from a
    /// majority for 1.5 times this long resigns (check-quorum).</summary>
    public int FetchTimeoutMs { get; init; } = 2000;

    /// <summary>Cap of the randomised binary exponential backoff between failed elections.</summary>
    public int ElectionBackoffMaxMs { get; init; } = 1000;

    /// <summary>A request without a response this long is given up (and may be resent).</summary>
    public int RequestTimeoutMs { get; init; } = 2000;

    /// <summary>Pause before resending a request that failed.</summary>
    public int RetryBackoffMs { get; init; } = 20;

    /// <summary>How long the leader parks a fetch with nothing new to return (Kafka's fixed 500 ms).</summary>
    public int FetchMaxWaitMs { get; init; } = 500;

    /// <summary>Bytes of records per fetch response (Kafka's fixed 8 MiB).</summary>
    public int FetchMaxBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary><c>metadata.max.retention.bytes</c> and <c>metadata.max.retention.ms</c>: how long snapshots older than the
    /// latest, and the log after them, are kept. Kafka's defaults.</summary>
    public SnapshotRetention Retention { get; init; } = SnapshotRetention.Default;

    /// <summary>How often <see cref="Retention"/> is applied: Kafka's fixed 60 s, here adjustable for tests.</summary>
    public int RetentionCheckIntervalMs { get; init; } = SnapshotRetention.DefaultCheckIntervalMs;

    /// <summary>
    /// kraft.version the quorum starts with: 0 for a static quorum (<c>controller.quorum.voters</c>; its voters never
    /// change), 1 for a dynamic one (voters from the bootstrap checkpoint, or none yet for a controller formatted with
    /// <c>--no-initial-controllers</c>). KRAFT_VERSION records in the log or a snapshot override it.
    /// </summary>
    public short KRaftVersion { get; init; }

    /// <summary>The controller listener the configured voters are reached on (the name written into KRAFT_VOTERS).</summary>
    public string ListenerName { get; init; } = "CONTROLLER";

    /// <summary>The configured voters as a <see cref="VoterSet"/>: what is in force before the log says otherwise.</summary>
    public VoterSet InitialVoters => VoterSet.From(Voters, ListenerName);

    /// <summary>
    /// This node's controller listeners as it advertises them (Kafka's localListeners): what a dynamic quorum's voter
    /// compares with the voter set's record of it and sends in UpdateRaftVoter when they differ. Empty: unknown, never sent.
    /// </summary>
    public IReadOnlyList<VoterListener> LocalListeners { get; init; } = [];

    /// <summary><c>controller.quorum.auto.join.enable</c> (KIP-853): a controller following a dynamic quorum as an observer
    /// adds itself to the voters. Needs <see cref="LocalListeners"/>.</summary>
    public bool AutoJoin { get; init; }

    /// <summary>Sent in requests and checked in inbound ones (INCONSISTENT_CLUSTER_ID); null skips the check.</summary>
    public string? ClusterId { get; init; }

    public bool IsVoter(int id)
    {
        foreach (var voter in VoterIds)
        {
            if (voter == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Voters needed for a majority.</summary>
    public int Majority => VoterIds.Count / 2 + 1;

    /// <summary>Parses <c>controller.quorum.voters</c>: <c>id@host:port</c>, comma separated (IPv6 hosts in brackets).</summary>
    /// <exception cref="FormatException">An entry is malformed; the message names the key and the entry.</exception>
    public static IReadOnlyList<VoterEndpoint> ParseVoters(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<VoterEndpoint>();
        foreach (var raw in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = raw.IndexOf('@', StringComparison.Ordinal);
            var colon = raw.LastIndexOf(':');
            if (at <= 0 || colon <= at + 1 || colon == raw.Length - 1
                || !int.TryParse(raw.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || !int.TryParse(raw.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port > 65535)
            {
                throw new FormatException($"{VotersKey}: '{raw}' is not id@host:port.");
            }

            var host = raw[(at + 1)..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }

            result.Add(new VoterEndpoint(id, host, port));
        }

        return result;
    }

    /// <summary>Parses <c>controller.quorum.bootstrap.servers</c>: <c>host:port</c>, comma separated (IPv6 hosts in
    /// brackets); the i-th entry gets id -(i + 2).</summary>
    /// <exception cref="FormatException">An entry is malformed; the message names the key and the entry.</exception>
    public static IReadOnlyList<VoterEndpoint> ParseBootstrapServers(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<VoterEndpoint>();
        foreach (var raw in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = raw.LastIndexOf(':');
            if (colon <= 0 || colon == raw.Length - 1
                || !int.TryParse(raw.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port > 65535 || raw[..colon] is "[]")
            {
                throw new FormatException($"{BootstrapServersKey}: '{raw}' is not host:port.");
            }

            var host = raw[..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }

            result.Add(new VoterEndpoint(-(result.Count + 2), host, port));
        }

        return result;
    }
}
