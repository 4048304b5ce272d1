using System.Buffers.Binary;
using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;

namespace Broker.Cluster.Tests.Raft.Simulation;

/// <summary>The safety invariants, checked after every event.</summary>
internal sealed partial class RaftSimulation
{
    /// <summary>
    /// Per node: its epoch never decreases (across restarts too); at most one leader per epoch; a new leader's log holds
    /// every committed batch (leader completeness); the high watermark never passes the log end.
    /// </summary>
    private void CheckNode(SimNode node)
    {
        var replica = node.Replica!;
        if (replica.Epoch < node.MaxEpoch)
        {
            Fail($"node {node.Id} went back from epoch {node.MaxEpoch} to {replica.Epoch}");
        }

        node.MaxEpoch = replica.Epoch;
        if (replica.HighWatermark > node.Log.EndOffset.Offset)
        {
            Fail($"node {node.Id} has high watermark {replica.HighWatermark} past its log end {node.Log.EndOffset.Offset}");
        }

        if (replica.Role == RaftRole.Leader)
        {
            if (_leaderOfEpoch.TryGetValue(replica.Epoch, out var other) && other != node.Id)
            {
                Fail($"two leaders in epoch {replica.Epoch}: {other} and {node.Id}");
            }

            _leaderOfEpoch[replica.Epoch] = node.Id;
            if (node.LastRole != RaftRole.Leader)
            {
                Record($"node {node.Id} leads epoch {replica.Epoch} (log {node.Log.EndOffset})");
                CheckHoldsCommitted(node);
            }
        }

        node.LastRole = replica.Role;
        CheckLogStart(node);
        if (Dynamic)
        {
            CheckVoters(node);
        }
    }

    /// <summary>
    /// Retention: the log starts at 0 or at the end of the oldest snapshot held, never past the latest; once a node has
    /// a snapshot it keeps one (the latest is never removed), and every snapshot held is a committed prefix.
    /// </summary>
    private void CheckLogStart(SimNode node)
    {
        var snapshots = node.Log.Snapshots;
        var start = node.Log.StartOffset;
        if (start > 0 && (snapshots.Count == 0 || snapshots[0].Offset != start))
        {
            Fail($"node {node.Id} log starts at {start}, not at its oldest snapshot ({(snapshots.Count > 0 ? snapshots[0] : "none")})");
        }

        if (snapshots.Count > 0 && snapshots[^1].Offset > CommittedEnd)
        {
            Fail($"node {node.Id} holds snapshot {snapshots[^1]} past the committed end {CommittedEnd}");
        }

        if (node.HadSnapshot && snapshots.Count == 0)
        {
            Fail($"node {node.Id} lost every snapshot");
        }

        node.HadSnapshot = snapshots.Count > 0;
        node.MaxSnapshotsHeld = Math.Max(node.MaxSnapshotsHeld, snapshots.Count);
    }

    private long CommittedEnd => _committed.Count == 0 ? 0 : _committed[^1].LastOffset + 1;

    /// <summary>
    /// After a quiet spell longer than the retention check interval (nothing appended or snapshotted since the last check):
    /// a node holding more than one snapshot is within both limits, the age one measured at that check. Null when it holds,
    /// else what is wrong.
    /// </summary>
    public string? RetentionViolation(SimNode node)
    {
        var retention = Config.Retention;
        var snapshots = node.Log.Snapshots;
        if (snapshots.Count <= 1)
        {
            return null;
        }

        var total = node.Log.SizeInBytes + snapshots.Sum(node.Log.SnapshotSizeInBytes);
        if (retention.MaxBytes >= 0 && total > retention.MaxBytes)
        {
            return $"node {node.Id} holds {snapshots.Count} snapshots and {total} bytes, over {retention.MaxBytes}";
        }

        var age = Now - (node.Log.SnapshotTimestamp(snapshots[0]) ?? Now);
        return retention.MaxMs >= 0 && age > retention.MaxMs + Config.RetentionCheckIntervalMs
            ? $"node {node.Id} holds {snapshots.Count} snapshots, the oldest {age} ms old, over {retention.MaxMs}"
            : null;
    }

    /// <summary>Committed KRAFT_VOTERS records (offset, voter set), in offset order.</summary>
    private readonly List<(long Offset, string Voters)> _committedVoters = [];

    /// <summary>
    /// The voter set a node has in force at its delivered end (from its log, snapshot or configuration, across restarts
    /// and installed snapshots) is the one the committed log holds there.
    /// </summary>
    private void CheckVoters(SimNode node)
    {
        var delivered = node.Replica!.NextDeliveryOffset;
        var expected = Text(Config.InitialVoters);
        foreach (var (offset, voters) in _committedVoters)
        {
            if (offset < delivered)
            {
                expected = voters;
            }
        }

        var actual = node.Replica.VotersAt(delivered) is { } record ? Text(VoterSet.From(record)) : "none";
        if (actual != expected)
        {
            Fail($"node {node.Id} has voters {actual} at its delivered end {delivered}; the committed log has {expected}");
        }
    }

    /// <summary>Ids, directory ids and endpoints: what must agree between nodes.</summary>
    private static string Text(VoterSet voters) =>
        string.Join(", ", voters.Voters.Select(v => $"{v.Id}:{v.DirectoryId}@" + string.Join("|", v.Listeners.Select(l => $"{l.Name}:{l.Host}:{l.Port}"))));

    /// <summary>Voter sets the simulation saw committed.</summary>
    public int CommittedVoterChanges => _committedVoters.Count;

    private void RecordCommittedVoters(in RecordBatch batch)
    {
        if (!batch.IsControl)
        {
            return;
        }

        using var reader = new RecordBatchReader(batch.Memory);
        while (reader.TryReadBatch(out var read))
        {
            foreach (var record in reader.ReadRecords(read))
            {
                if (record.Key.Length >= 4 && BinaryPrimitives.ReadInt16BigEndian(record.Key.Span[2..]) == 6)
                {
                    var value = new KafkaReader(record.Value);
                    var voters = new VotersRecord();
                    voters.Read(ref value, 0);
                    _committedVoters.Add((record.Offset, Text(VoterSet.From(voters))));
                }
            }
        }
    }

    /// <summary>
    /// Every node delivers the same committed batches in the same order: the n-th batch a node delivers since its start
    /// is the n-th committed batch, or extends the committed sequence contiguously.
    /// </summary>
    private void CheckCommitted(SimNode node, CommittedBatch batch, in RecordBatch raw)
    {
        var index = node.Delivered;
        if (index < _committed.Count)
        {
            if (_committed[index] != batch)
            {
                Fail($"node {node.Id} delivered {batch} as committed batch #{index}, but {_committed[index]} was committed there");
            }
        }
        else
        {
            var expectedBase = index == 0 ? 0 : _committed[index - 1].LastOffset + 1;
            if (batch.BaseOffset != expectedBase || index != _committed.Count)
            {
                Fail($"node {node.Id} delivered {batch} as committed batch #{index}; expected base offset {expectedBase}");
            }

            _committed.Add(batch);
            RecordCommittedVoters(raw);
        }

        node.Delivered = index + 1;
    }

    /// <summary>
    /// Leader completeness: a new leader holds every committed batch, unchanged: those below its log start in its latest
    /// snapshot (which must reach the log start), the rest in its log from the start on.
    /// </summary>
    private void CheckHoldsCommitted(SimNode node)
    {
        if (_committed.Count == 0)
        {
            return;
        }

        var start = node.Log.StartOffset;
        if (start > 0 && (node.Log.LatestSnapshot is not { } snapshot || snapshot.Offset < start))
        {
            Fail($"leader {node.Id} starts its log at {start} without a snapshot reaching it");
        }

        var held = RaftTestData.ReadAll(node.Log);
        var first = 0;
        while (first < _committed.Count && _committed[first].LastOffset < start)
        {
            first++;
        }

        for (var i = first; i < _committed.Count; i++)
        {
            var expected = _committed[i];
            var at = i - first;
            if (at >= held.Count || held[at] != (expected.BaseOffset, expected.LastOffset, expected.Epoch))
            {
                Fail($"leader {node.Id} of epoch {node.Replica!.Epoch} lacks committed batch #{i} {expected}");
            }
        }
    }

    /// <summary>
    /// A node takes a snapshot of its state (the committed batches it covers, as their CRCs) at its delivered end,
    /// which must be the end of the last of them.
    /// </summary>
    public bool TakeSnapshot(SimNode node)
    {
        if (!node.Alive || node.Delivered == 0)
        {
            return false;
        }

        var last = _committed[node.Delivered - 1];
        var id = node.Replica!.DeliveredEnd;
        if (id != new OffsetAndEpoch(last.LastOffset + 1, last.Epoch))
        {
            Fail($"node {node.Id} delivered end {id} is not the end of its last committed batch {last}");
        }

        // Kafka's snapshot format: the header carries the time retention measures age from, and a dynamic quorum's
        // voters at its end travel with it.
        var state = new ConfigRecord { ResourceType = 2, ResourceName = "sim", Name = "crcs", Value = Convert.ToBase64String(SnapshotContent(node.Delivered)) };
        var content = MetadataSnapshot.Encode([state], id.Epoch, Now, Dynamic ? node.Replica.VotersAt(id.Offset) : null);

        if (!node.Replica.TryCreateSnapshot(id, content))
        {
            return false;
        }

        node.SnapshotsTaken++;
        Record($"node {node.Id} snapshot at {id}, log start {node.Log.StartOffset}");
        return true;
    }

    /// <summary>A loaded snapshot must be exactly a prefix of the committed batches, ending at its id, and never take
    /// the node backwards.</summary>
    private void CheckSnapshot(SimNode node, OffsetAndEpoch id, ReadOnlyMemory<byte> content)
    {
        content = Convert.FromBase64String(((ConfigRecord)Assert.Single(MetadataSnapshot.Decode(content, "sim snapshot"))).Value!);

        var count = BinaryPrimitives.ReadInt32BigEndian(content.Span);
        if (count <= 0 || count > _committed.Count || !content.Span.SequenceEqual(SnapshotContent(count)))
        {
            Fail($"node {node.Id} loaded snapshot {id} of {count} batches that is not a committed prefix");
        }

        var last = _committed[count - 1];
        if (id != new OffsetAndEpoch(last.LastOffset + 1, last.Epoch) || count < node.Delivered)
        {
            Fail($"node {node.Id} loaded snapshot {id} of {count} batches (last {last}) having delivered {node.Delivered}");
        }

        node.Delivered = count;
        if (!node.Starting)
        {
            node.SnapshotsInstalled++;
            Record($"node {node.Id} installed snapshot {id}");
        }
    }

    private byte[] SnapshotContent(int count)
    {
        var content = new byte[4 + 4 * count];
        BinaryPrimitives.WriteInt32BigEndian(content, count);
        for (var i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(content.AsSpan(4 + 4 * i), _committed[i].Crc);
        }

        return content;
    }

    private void Fail(string message) => throw new SimulationFailure(message + "\n" + Describe());
}
