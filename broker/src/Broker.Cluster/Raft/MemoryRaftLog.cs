using Broker.Protocol.Records;

namespace Broker.Cluster.Raft;

/// <summary>
/// An in-memory <see cref="IRaftLog"/> for deterministic simulation. It remembers how much was flushed, so a simulated
/// crash (<see cref="CloneFlushed"/>) keeps exactly what a real log would: the flushed prefix.
/// </summary>
/// <remarks>Owned by one <see cref="RaftReplica"/>; not thread-safe.</remarks>
public sealed class MemoryRaftLog : IRaftLog
{
    // One entry per batch; a batch's bytes are never changed once stored, so reads can hand them out without copying.
    private readonly List<byte[]> _batches = [];
    private readonly List<long> _baseOffsets = [];
    private readonly List<(int Epoch, long StartOffset)> _epochs = [];
    private readonly SortedList<long, (OffsetAndEpoch Id, byte[] Content)> _snapshots = [];
    private long _startOffset;
    private long _endOffset;
    private long _flushedOffset;

    public OffsetAndEpoch EndOffset => new(_endOffset, _epochs.Count > 0 ? _epochs[^1].Epoch : LatestSnapshot?.Epoch ?? 0);

    public long StartOffset => _startOffset;

    public OffsetAndEpoch? LatestSnapshot => _snapshots.Count == 0 ? null : _snapshots.Values[^1].Id;

    public IReadOnlyList<OffsetAndEpoch> Snapshots => [.. _snapshots.Values.Select(static s => s.Id)];

    public long SizeInBytes
    {
        get
        {
            long total = 0;
            foreach (var batch in _batches)
            {
                total += batch.Length;
            }

            return total;
        }
    }

    public long SnapshotSizeInBytes(OffsetAndEpoch id) => ReadSnapshot(id).Length;

    public long? SnapshotTimestamp(OffsetAndEpoch id) => SnapshotFiles.ReadLastContainedTimestamp(ReadSnapshot(id));

    /// <summary>Number of snapshots held (tests).</summary>
    public int SnapshotCount => _snapshots.Count;

    public long FlushedOffset => _flushedOffset;

    /// <summary>The committed offset last reported (not used by the log itself).</summary>
    public long HighWatermark { get; private set; }

    /// <summary>Number of batches held (tests).</summary>
    public int BatchCount => _batches.Count;

    public long AppendAsLeader(Memory<byte> batches, int epoch)
    {
        var span = batches.Span;
        var position = 0;
        while (position < span.Length)
        {
            var batch = span[position..];
            var size = RecordBatchHeader.TotalSize(batch);

            // Neither field is covered by the CRC, which starts at the attributes.
            RecordBatchHeader.SetBaseOffset(batch, _endOffset);
            RecordBatchHeader.SetPartitionLeaderEpoch(batch, epoch);
            Store(batch[..size].ToArray());
            position += size;
        }

        return _endOffset;
    }

    public long AppendAsFollower(ReadOnlyMemory<byte> batches)
    {
        var span = batches.Span;
        var position = 0;
        while (position < span.Length)
        {
            var batch = span[position..];
            var size = RecordBatchHeader.TotalSize(batch);
            if (RecordBatchHeader.BaseOffset(batch) < _endOffset)
            {
                throw new ArgumentException(
                    $"Batch at offset {RecordBatchHeader.BaseOffset(batch)} does not follow the log end {_endOffset}.", nameof(batches));
            }

            Store(batch[..size].ToArray());
            position += size;
        }

        return _endOffset;
    }

    public long TruncateTo(long offset)
    {
        var keep = _batches.Count;
        while (keep > 0 && RecordBatchHeader.LastOffset(_batches[keep - 1]) >= offset)
        {
            keep--;
        }

        if (keep == _batches.Count)
        {
            return _endOffset;
        }

        _batches.RemoveRange(keep, _batches.Count - keep);
        _baseOffsets.RemoveRange(keep, _baseOffsets.Count - keep);
        _endOffset = keep == 0 ? _startOffset : RecordBatchHeader.LastOffset(_batches[^1]) + 1;
        while (_epochs.Count > 0 && _epochs[^1].StartOffset >= _endOffset)
        {
            _epochs.RemoveAt(_epochs.Count - 1);
        }

        // Truncation is durable, as PartitionLog.TruncateTo flushes the cut segment.
        _flushedOffset = Math.Min(_flushedOffset, _endOffset);
        return _endOffset;
    }

    public OffsetAndEpoch EndOffsetForEpoch(int epoch)
    {
        if (_epochs.Count == 0)
        {
            return LatestSnapshot is { } snapshot ? new OffsetAndEpoch(snapshot.Offset, Math.Min(epoch, snapshot.Epoch)) : new OffsetAndEpoch(0, 0);
        }

        if (epoch < _epochs[0].Epoch)
        {
            return new OffsetAndEpoch(_epochs[0].StartOffset, epoch);
        }

        for (var i = _epochs.Count - 1; i >= 0; i--)
        {
            if (_epochs[i].Epoch <= epoch)
            {
                return new OffsetAndEpoch(i + 1 < _epochs.Count ? _epochs[i + 1].StartOffset : _endOffset, _epochs[i].Epoch);
            }
        }

        return new OffsetAndEpoch(_epochs[0].StartOffset, epoch);
    }

    public ReadOnlyMemory<byte> Read(long offset, int maxBytes)
    {
        var index = _baseOffsets.BinarySearch(offset);
        if (index < 0)
        {
            index = ~index - 1;
        }

        if (index < 0 || offset >= _endOffset)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var total = _batches[index].Length;
        var end = index + 1;
        while (end < _batches.Count && total + _batches[end].Length <= maxBytes)
        {
            total += _batches[end].Length;
            end++;
        }

        if (end == index + 1)
        {
            return _batches[index];
        }

        var result = new byte[total];
        var position = 0;
        for (var i = index; i < end; i++)
        {
            _batches[i].CopyTo(result, position);
            position += _batches[i].Length;
        }

        return result;
    }

    public void Flush() => _flushedOffset = _endOffset;

    public ReadOnlyMemory<byte> ReadSnapshot(OffsetAndEpoch id) =>
        _snapshots.TryGetValue(id.Offset, out var snapshot) && snapshot.Id == id
            ? snapshot.Content
            : throw new InvalidOperationException($"No snapshot {id}.");

    public void StoreSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> content)
    {
        _snapshots[id.Offset] = (id, content.ToArray());
        if (id == LatestSnapshot
            && (id.Offset > _endOffset || EndOffsetForEpoch(id.Epoch) is var local && (local.Epoch != id.Epoch || local.Offset < id.Offset)))
        {
            // Kafka's truncateToLatestSnapshot: the log cannot continue from this snapshot, so it restarts at its end and
            // the older snapshots go with it.
            _batches.Clear();
            _baseOffsets.Clear();
            _epochs.Clear();
            _startOffset = _endOffset = _flushedOffset = id.Offset;
            ForgetBefore(id);
        }
    }

    public bool DeleteBeforeSnapshot(OffsetAndEpoch id)
    {
        if (!_snapshots.TryGetValue(id.Offset, out var held) || held.Id != id || id.Offset <= _startOffset || id.Offset > HighWatermark)
        {
            return false;
        }

        var drop = 0;
        while (drop < _batches.Count && RecordBatchHeader.LastOffset(_batches[drop]) < id.Offset)
        {
            drop++;
        }

        // A batch straddling the snapshot end stays whole; the start is the snapshot end all the same, as in the file log.
        _batches.RemoveRange(0, drop);
        _baseOffsets.RemoveRange(0, drop);
        _startOffset = id.Offset;
        while (_epochs.Count > 1 && _epochs[1].StartOffset <= _startOffset)
        {
            _epochs.RemoveAt(0);
        }

        if (_batches.Count == 0)
        {
            _epochs.Clear();
        }
        else if (_epochs.Count > 0 && _epochs[0].StartOffset < _startOffset)
        {
            _epochs[0] = (_epochs[0].Epoch, _startOffset);
        }

        ForgetBefore(id);
        return true;
    }

    private void ForgetBefore(OffsetAndEpoch id)
    {
        while (_snapshots.Count > 0 && _snapshots.Keys[0] < id.Offset)
        {
            _snapshots.RemoveAt(0);
        }
    }

    public void UpdateHighWatermark(long offset) => HighWatermark = offset;

    /// <summary>What survives a crash: a new log holding the flushed batches only.</summary>
    public MemoryRaftLog CloneFlushed()
    {
        // Snapshots and the log start are durable when written.
        var clone = new MemoryRaftLog { _startOffset = _startOffset, _endOffset = _startOffset };
        foreach (var (offset, snapshot) in _snapshots)
        {
            clone._snapshots[offset] = snapshot;
        }

        for (var i = 0; i < _batches.Count && RecordBatchHeader.LastOffset(_batches[i]) < _flushedOffset; i++)
        {
            clone.Store(_batches[i]);
        }

        clone._flushedOffset = clone._endOffset;
        return clone;
    }

    private void Store(byte[] batch)
    {
        var epoch = RecordBatchHeader.PartitionLeaderEpoch(batch);
        var baseOffset = RecordBatchHeader.BaseOffset(batch);
        if (_epochs.Count == 0 || epoch > _epochs[^1].Epoch)
        {
            _epochs.Add((epoch, baseOffset));
        }

        _batches.Add(batch);
        _baseOffsets.Add(baseOffset);
        _endOffset = RecordBatchHeader.LastOffset(batch) + 1;
    }
}
