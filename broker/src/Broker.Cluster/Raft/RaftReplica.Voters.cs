using System.Buffers.Binary;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Raft;

/// <summary>
/// The voter set as part of the replicated log (KIP-853, Kafka's KRaftControlRecordStateMachine, AddVoterHandler and
/// RemoveVoterHandler): the last KRAFT_VOTERS record in the log, else in the latest snapshot, else the configured voters,
/// is in force as soon as it is appended and is dropped again when the log is truncated below it. The leader adds or
/// removes one voter at a time by appending a new KRAFT_VOTERS record and answers once it is committed.
/// </summary>
public sealed partial class RaftReplica
{
    /// <summary>KRAFT_VERSION and KRAFT_VOTERS control record types (ControlRecordType).</summary>
    private const short KRaftVersionControlType = 5;
    private const short KRaftVotersControlType = 6;

    /// <summary>Voter sets by the offset of the record that made them (the configured or snapshot set first).</summary>
    private readonly List<VotersEntry> _voterHistory = [];

    /// <summary>The directory id of this replica's metadata log dir (Kafka's ReplicaKey); empty in a static quorum.</summary>
    public Guid DirectoryId { get; }

    /// <summary>The voter set in force: the last one appended to this replica's log.</summary>
    public VoterSet Voters => _voterHistory[^1].Voters;

    /// <summary>kraft.version in force: 0 (static voters) or 1 (voter changes allowed).</summary>
    public short KRaftVersion => _voterHistory[^1].KRaftVersion;

    /// <summary>False for an observer (a broker-only node, a controller not or no longer in the voter set).</summary>
    public bool IsVoter => Voters.Contains(LocalId, DirectoryId);

    /// <summary>
    /// Whether this replica may start an election: a voter of the set in force, or a voter removed by a change that is not
    /// committed yet (Raft's rule that a server not in its latest configuration may still lead that configuration until
    /// the change commits; otherwise a leader that removed itself and lost its followers before the removal committed
    /// would hold the most up-to-date log and never run, and nobody else could be elected: the simulation found it).
    /// Votes are always counted over the set in force, without this replica when it is not in it.
    /// </summary>
    private bool CanElect =>
        IsVoter
        || (_voterHistory.Count > 1 && _voterHistory[^1].Offset >= _highWatermark && _voterHistory[^2].Voters.Contains(LocalId, DirectoryId));

    /// <summary>Granted votes that count: those of voters in force (our own only when we are one).</summary>
    private int GrantedVoters()
    {
        var count = 0;
        foreach (var id in _granted)
        {
            if (Voters.Contains(id))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// The KRAFT_VOTERS record in force just below <paramref name="endOffset"/> (what a snapshot ending there must carry),
    /// or null when it is a static quorum's (kraft.version 0 writes none).
    /// </summary>
    public VotersRecord? VotersAt(long endOffset)
    {
        for (var i = _voterHistory.Count - 1; i >= 0; i--)
        {
            if (_voterHistory[i].Offset < endOffset)
            {
                return _voterHistory[i].KRaftVersion >= 1 ? _voterHistory[i].Voters.ToRecord() : null;
            }
        }

        return null;
    }

    /// <summary>The controller endpoint of voter <paramref name="id"/> in the set in force, or null.</summary>
    public VoterEndpoint? VoterEndpoint(int id) =>
        Voters.TryGet(id) is { Listeners.Count: > 0 } voter
            ? new VoterEndpoint(id, voter.Listeners[0].Host, voter.Listeners[0].Port) { DirectoryId = voter.DirectoryId }
            : null;

    /// <summary>
    /// Rebuilds the history from the latest snapshot (or the configuration) and every control record of the log: at start
    /// and after a fetched snapshot replaced the log.
    /// </summary>
    private void RebuildVoters()
    {
        _voterHistory.Clear();
        _voterHistory.Add(new VotersEntry(-1, _config.InitialVoters, _config.KRaftVersion));
        if (_log.LatestSnapshot is { } snapshot && SnapshotVoters(_log.ReadSnapshot(snapshot)) is { } voters)
        {
            _voterHistory[0] = new VotersEntry(snapshot.Offset - 1, VoterSet.From(voters), 1);
        }

        var offset = _log.StartOffset;
        while (offset < _log.EndOffset.Offset)
        {
            var bytes = _log.Read(offset, 1 << 20);
            if (bytes.IsEmpty)
            {
                break;
            }

            var next = ScanControlRecords(bytes);
            if (next <= offset)
            {
                break;
            }

            offset = next;
        }
    }

    /// <summary>Kafka's snapshot reader for the voters: the last KRAFT_VOTERS of a Kafka-format snapshot; null for
    /// anything else (a static quorum's snapshots carry none).</summary>
    private static VotersRecord? SnapshotVoters(ReadOnlyMemory<byte> content)
    {
        try
        {
            return content.Length >= RecordBatchHeader.Size && RecordBatchHeader.TotalSize(content.Span) <= content.Length
                ? MetadataSnapshot.ReadVoters(content, "snapshot")
                : null;
        }
        catch (Exception e) when (e is InvalidDataException or KafkaProtocolException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Records the KRAFT_VERSION and KRAFT_VOTERS records of appended batches; returns the offset after them.</summary>
    private long ScanControlRecords(ReadOnlyMemory<byte> batches)
    {
        var end = -1L;
        using var reader = new RecordBatchReader(batches);
        while (reader.TryReadBatch(out var batch))
        {
            end = batch.NextOffset;
            if (!batch.IsControl)
            {
                continue;
            }

            foreach (var record in reader.ReadRecords(batch))
            {
                var type = record.Key.Length >= 4 ? BinaryPrimitives.ReadInt16BigEndian(record.Key.Span[2..]) : (short)-1;
                var current = _voterHistory[^1];
                if (type == KRaftVotersControlType)
                {
                    var value = new KafkaReader(record.Value);
                    var voters = new VotersRecord();
                    voters.Read(ref value, 0);
                    _voterHistory.Add(new VotersEntry(record.Offset, VoterSet.From(voters), current.KRaftVersion));
                }
                else if (type == KRaftVersionControlType)
                {
                    var value = new KafkaReader(record.Value);
                    var version = new KRaftVersionRecord();
                    version.Read(ref value, 0);
                    _voterHistory.Add(new VotersEntry(record.Offset, current.Voters, version.KRaftVersion));
                }
            }
        }

        return end;
    }

    /// <summary>After batches were appended (as leader or follower): new voter sets take effect now.</summary>
    private void OnAppended(ReadOnlyMemory<byte> batches)
    {
        var before = _voterHistory.Count;
        ScanControlRecords(batches);
        if (_voterHistory.Count != before)
        {
            VotersChanged();
        }
    }

    /// <summary>After the log was truncated to <paramref name="endOffset"/>: voter sets recorded at or after it are undone.</summary>
    private void OnTruncated(long endOffset)
    {
        var before = _voterHistory.Count;
        while (_voterHistory.Count > 1 && _voterHistory[^1].Offset >= endOffset)
        {
            _voterHistory.RemoveAt(_voterHistory.Count - 1);
        }

        if (_voterHistory.Count != before)
        {
            VotersChanged();
        }
    }

    private void VotersChanged()
    {
        if (_leader is { } leader && leader.SetVoters(Voters))
        {
            SetHighWatermark(leader.HighWatermark);
        }
    }

    /// <summary>
    /// At the start of an epoch of a dynamic quorum whose log holds no KRAFT_VOTERS yet (the set came from the bootstrap
    /// checkpoint), the leader writes kraft.version and the voters into the log, so observers formatted without voters
    /// learn them by fetching; it does the same when the set's record of the leader itself is stale (other listeners or
    /// kraft.version range), writing the set with its own record updated (Kafka's appendStartOfEpochControlRecords).
    /// </summary>
    private void AppendStartOfEpochVoters(long nowMs)
    {
        if (KRaftVersion < 1 || Voters.Count == 0)
        {
            return;
        }

        var neverWritten = _voterHistory.Count == 1 && _voterHistory[0].Offset < 0;
        var stale = LocalVoterNeedsUpdate;
        if (neverWritten || stale)
        {
            var voters = stale ? Voters.With(LocalVoter!) : Voters;
            AppendAsLeader(ControlBatch(_log.EndOffset.Offset, nowMs,
                (KRaftVersionControlType, new KRaftVersionRecord { Version = 0, KRaftVersion = 1 }),
                (KRaftVotersControlType, voters.ToRecord())), nowMs);
        }
    }

    private byte[] ControlBatch(long baseOffset, long nowMs, params (short Type, IApiMessage Value)[] records)
    {
        using var builder = new RecordBatchBuilder { IsControl = true, BaseOffset = baseOffset, PartitionLeaderEpoch = Epoch };
        foreach (var (type, message) in records)
        {
            var key = new byte[4];
            BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), type);
            using var value = new KafkaWriter(128);
            message.Write(value, 0);
            builder.Append(nowMs, key, value.WrittenSpan.ToArray());
        }

        return builder.ToArray();
    }

    /// <summary>A voter set and the kraft.version in force from the record at <paramref name="Offset"/>. Immutable.</summary>
    private readonly record struct VotersEntry(long Offset, VoterSet Voters, short KRaftVersion);
}
