using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>One listener endpoint of a voter, as a KRAFT_VOTERS record lists it. Immutable.</summary>
public readonly record struct VoterListener(string Name, string Host, int Port);

/// <summary>A voter of the quorum (Kafka's VoterNode): node id, directory id of its metadata log dir
/// (<see cref="Guid.Empty"/> in a static quorum), its controller listeners and the kraft.version range it supports.
/// Immutable.</summary>
public sealed record RaftVoter(int Id, Guid DirectoryId, IReadOnlyList<VoterListener> Listeners)
{
    /// <summary>The kraft.version range this software supports, what a voter claims unless its record says otherwise.</summary>
    public const short SupportedMinKRaftVersion = 0;

    /// <inheritdoc cref="SupportedMinKRaftVersion"/>
    public const short SupportedMaxKRaftVersion = 1;

    public short MinKRaftVersion { get; init; } = SupportedMinKRaftVersion;

    public short MaxKRaftVersion { get; init; } = SupportedMaxKRaftVersion;

    /// <summary>Same id, directory id, supported range and listeners (in any order; names and hosts compared without
    /// case): what Kafka's VoterNode equality decides, and whether a voter must send UpdateRaftVoter.</summary>
    public bool SameAs(RaftVoter other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Id != other.Id || DirectoryId != other.DirectoryId || MinKRaftVersion != other.MinKRaftVersion
            || MaxKRaftVersion != other.MaxKRaftVersion || Listeners.Count != other.Listeners.Count)
        {
            return false;
        }

        foreach (var listener in Listeners)
        {
            if (!other.Listeners.Any(l => string.Equals(l.Name, listener.Name, StringComparison.OrdinalIgnoreCase)
                    && string.Equals(l.Host, listener.Host, StringComparison.OrdinalIgnoreCase) && l.Port == listener.Port))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The set of voters in force at some point of the log (Kafka's VoterSet): the static <c>controller.quorum.voters</c>,
/// or the last KRAFT_VOTERS record of the bootstrap checkpoint, a snapshot or the log. Majorities for elections, the
/// high watermark and check-quorum are counted over it. Immutable; thread-safe.
/// </summary>
public sealed class VoterSet
{
    private readonly RaftVoter[] _voters;
    private readonly int[] _ids;

    public VoterSet(IEnumerable<RaftVoter> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        _voters = [.. voters.OrderBy(static v => v.Id)];
        _ids = [.. _voters.Select(static v => v.Id)];
        for (var i = 1; i < _ids.Length; i++)
        {
            if (_ids[i] == _ids[i - 1])
            {
                throw new ArgumentException($"Voter id {_ids[i]} is repeated.", nameof(voters));
            }
        }
    }

    /// <summary>Voters by ascending id.</summary>
    public IReadOnlyList<RaftVoter> Voters => _voters;

    /// <summary>Voter ids, ascending.</summary>
    public IReadOnlyList<int> Ids => _ids;

    public int Count => _ids.Length;

    /// <summary>Voters needed for a majority; 1 for an empty set so that nothing divides by zero (an empty set never
    /// elects anybody: nobody is a voter).</summary>
    public int Majority => _ids.Length / 2 + 1;

    public bool Contains(int id) => Array.BinarySearch(_ids, id) >= 0;

    /// <summary>Kafka's isVoter(ReplicaKey): the id is a voter and, when both directory ids are known, they match.</summary>
    public bool Contains(int id, Guid directoryId) =>
        TryGet(id) is { } voter && (voter.DirectoryId == Guid.Empty || directoryId == Guid.Empty || voter.DirectoryId == directoryId);

    public RaftVoter? TryGet(int id)
    {
        var index = Array.BinarySearch(_ids, id);
        return index >= 0 ? _voters[index] : null;
    }

    public VoterSet With(RaftVoter voter) => new([.. _voters.Where(v => v.Id != voter.Id), voter]);

    public VoterSet Without(int id) => new(_voters.Where(v => v.Id != id));

    /// <summary>The voters of a static quorum (<c>controller.quorum.voters</c>) or of the bootstrap checkpoint as the
    /// configuration holds them: one endpoint each, named <paramref name="listenerName"/>.</summary>
    public static VoterSet From(IReadOnlyList<VoterEndpoint> endpoints, string listenerName)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return new VoterSet(endpoints.Select(e => new RaftVoter(e.Id, e.DirectoryId, [new VoterListener(listenerName, e.Host, e.Port)])));
    }

    public static VoterSet From(VotersRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new VoterSet(record.Voters.Select(static v => new RaftVoter(v.VoterId, v.VoterDirectoryId,
            [.. v.Endpoints.Select(static e => new VoterListener(e.Name, e.Host, e.Port))])
        {
            MinKRaftVersion = v.KRaftVersionFeature.MinSupportedVersion,
            MaxKRaftVersion = v.KRaftVersionFeature.MaxSupportedVersion,
        }));
    }

    /// <summary>The KRAFT_VOTERS record (version 0) for this set, with each voter's supported kraft.version range.</summary>
    public VotersRecord ToRecord()
    {
        var record = new VotersRecord { Version = 0 };
        foreach (var voter in _voters)
        {
            record.Voters.Add(new VotersRecord.Voter
            {
                VoterId = voter.Id,
                VoterDirectoryId = voter.DirectoryId,
                Endpoints = [.. voter.Listeners.Select(static l => new VotersRecord.Endpoint { Name = l.Name, Host = l.Host, Port = (ushort)l.Port })],
                KRaftVersionFeature = new VotersRecord.KRaftVersionFeature { MinSupportedVersion = voter.MinKRaftVersion, MaxSupportedVersion = voter.MaxKRaftVersion },
            });
        }

        return record;
    }

    /// <summary>The voters with their first endpoint, the shape <see cref="QuorumConfig.Voters"/> has.</summary>
    public List<VoterEndpoint> Endpoints()
    {
        var result = new List<VoterEndpoint>(_voters.Length);
        foreach (var voter in _voters)
        {
            if (voter.Listeners.Count > 0)
            {
                result.Add(new VoterEndpoint(voter.Id, voter.Listeners[0].Host, voter.Listeners[0].Port) { DirectoryId = voter.DirectoryId });
            }
        }

        return result;
    }

    public override string ToString() => "[" + string.Join(", ", _voters.Select(static v => v.DirectoryId == Guid.Empty ? $"{v.Id}" : $"{v.Id}:{v.DirectoryId}")) + "]";
}
