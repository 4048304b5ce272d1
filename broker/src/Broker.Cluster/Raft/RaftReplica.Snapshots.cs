using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>
/// Snapshots (Kafka's KIP-630): the state machine stores a snapshot of what was delivered, the log start moves up to it,
/// a follower whose fetch position is below the leader's log start is told the snapshot id and downloads it in chunks
/// with FetchSnapshot (59), installs it, restarts its log at the snapshot end and goes on fetching from there.
/// </summary>
public sealed partial class RaftReplica
{
    private SnapshotDownload? _download;
    private (OffsetAndEpoch Id, ReadOnlyMemory<byte> Content)? _served;
    private int _lastDeliveredEpoch;
    private long _retentionDeadline = long.MaxValue;

    /// <summary>
    /// Where delivery has got to: the next offset <see cref="IRaftListener.OnCommitted"/> will be called for and the epoch
    /// of the last batch delivered (or of the snapshot loaded). A snapshot of the listener's state now has this id.
    /// </summary>
    public OffsetAndEpoch DeliveredEnd => new(_nextDelivery, _lastDeliveredEpoch);

    /// <summary>The newest snapshot in the log, or null.</summary>
    public OffsetAndEpoch? LatestSnapshot => _log.LatestSnapshot;

    /// <summary>Every snapshot the log holds, oldest first.</summary>
    public IReadOnlyList<OffsetAndEpoch> Snapshots => _log.Snapshots;

    /// <summary>The first offset the log still holds.</summary>
    public long LogStartOffset => _log.StartOffset;

    /// <summary>True while this follower downloads a snapshot from the leader.</summary>
    public bool IsFetchingSnapshot => _download is not null;

    /// <summary>
    /// Stores <paramref name="content"/>, the listener's state at <paramref name="id"/> (which must be
    /// <see cref="DeliveredEnd"/>, so everything it covers is committed). Older snapshots and the log stay until retention
    /// removes them (<see cref="ApplyRetention"/>). False, storing nothing, when the id is not the delivered end or no
    /// newer than the latest snapshot.
    /// </summary>
    public bool TryCreateSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> content)
    {
        EnsureStarted();
        if (id != DeliveredEnd || id.Offset == 0 || (_log.LatestSnapshot is { } latest && latest.Offset >= id.Offset))
        {
            return false;
        }

        _log.StoreSnapshot(id, content);
        return true;
    }

    /// <summary>
    /// Kafka's snapshot cleaner: every <see cref="QuorumConfig.RetentionCheckIntervalMs"/> the oldest snapshots go while
    /// the log and snapshots together exceed metadata.max.retention.bytes or the oldest is older than
    /// metadata.max.retention.ms (<see cref="SnapshotRetention"/>). Every replica, leader or not, cleans its own log.
    /// </summary>
    private void ApplyRetention(long nowMs)
    {
        if (_retentionDeadline == long.MaxValue)
        {
            // The first check is a full period after start, as Kafka's cleaner timer starts.
            _retentionDeadline = nowMs + _config.RetentionCheckIntervalMs;
        }

        if (nowMs < _retentionDeadline)
        {
            return;
        }

        _retentionDeadline = nowMs + _config.RetentionCheckIntervalMs;
        _config.Retention.Apply(_log, nowMs);
    }

    /// <summary>At start: the latest snapshot is committed by construction, so the listener loads it before any batch.</summary>
    private void LoadLatestSnapshot()
    {
        if (_log.LatestSnapshot is not { } snapshot)
        {
            return;
        }

        _listener?.OnSnapshot(snapshot, _log.ReadSnapshot(snapshot));
        _nextDelivery = snapshot.Offset;
        _lastDeliveredEpoch = snapshot.Epoch;
        _highWatermark = snapshot.Offset;
        _log.UpdateHighWatermark(snapshot.Offset);
    }

    /// <summary>
    /// Leader side of Fetch (Kafka's validateOffsetAndEpoch): the latest snapshot to fetch instead, when the follower's
    /// position is below the log start, at the start with another epoch than the oldest snapshot's (the one the log
    /// starts at), or in an epoch older than that snapshot's (the log no longer holds what is needed to compare). A log
    /// that still starts at 0 serves a fetch from 0. In each case the follower's high watermark is below the latest
    /// snapshot's end, so installing it never drops a committed entry.
    /// </summary>
    private OffsetAndEpoch? SnapshotForFetch(long fetchOffset, int lastFetchedEpoch)
    {
        var snapshots = _log.Snapshots;
        if (snapshots.Count == 0 || (_log.StartOffset == 0 && fetchOffset == 0))
        {
            return null;
        }

        var earliest = snapshots[0];
        return fetchOffset < _log.StartOffset || (fetchOffset == _log.StartOffset && lastFetchedEpoch != earliest.Epoch)
            || lastFetchedEpoch < earliest.Epoch
            ? snapshots[^1]
            : null;
    }

    private void SendFetchSnapshot(int destination, long nowMs) =>
        Send(destination, RaftProtocol.FetchSnapshotRequest(_config.ClusterId, LocalId, Epoch, _download!.Id, _download.Position,
            _config.FetchMaxBytes), nowMs);

    private FetchSnapshotResponse HandleFetchSnapshotRequest(int source, FetchSnapshotRequest request, long nowMs)
    {
        if (!ClusterIdMatches(request.ClusterId))
        {
            return new FetchSnapshotResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId };
        }

        if (!RaftProtocol.TryGetPartition(request, out var partition))
        {
            return new FetchSnapshotResponse { ErrorCode = (short)ErrorCode.InvalidRequest };
        }

        var error = partition.Position < 0 || request.MaxBytes <= 0 ? (short)ErrorCode.InvalidRequest
            : partition.CurrentLeaderEpoch < Epoch ? (short)ErrorCode.FencedLeaderEpoch
            : partition.CurrentLeaderEpoch > Epoch ? (short)ErrorCode.UnknownLeaderEpoch
            : Role != RaftRole.Leader ? (short)ErrorCode.NotLeaderOrFollower
            : (short)ErrorCode.None;
        var (response, data) = RaftProtocol.FetchSnapshotResponse(error, LeaderId, Epoch);
        if (error != (short)ErrorCode.None)
        {
            return response;
        }

        // Downloading a snapshot is being heard from, for check-quorum, as a fetch is.
        _leader!.RecordVoterFetch(request.ReplicaId >= 0 ? request.ReplicaId : source, nowMs);
        var id = new OffsetAndEpoch(partition.SnapshotId.EndOffset, partition.SnapshotId.Epoch);
        // Any snapshot still held is served: a download that began before a newer snapshot was taken can finish.
        if (!ContainsSnapshot(id))
        {
            data.ErrorCode = RaftProtocol.SnapshotNotFound;
            return response;
        }

        // A download asks for many chunks of the same file: keep the last one read rather than reading it again each time.
        if (_served is not { } served || served.Id != id)
        {
            served = (id, _log.ReadSnapshot(id));
            _served = served;
        }

        var content = served.Content;
        if (partition.Position >= content.Length)
        {
            data.ErrorCode = RaftProtocol.PositionOutOfRange;
            return response;
        }

        var length = (int)Math.Min(content.Length - partition.Position, Math.Min(request.MaxBytes, _config.FetchMaxBytes));
        data.SnapshotId.EndOffset = id.Offset;
        data.SnapshotId.Epoch = id.Epoch;
        data.Size = content.Length;
        data.Position = partition.Position;
        data.UnalignedRecords = content.Slice((int)partition.Position, length);
        return response;
    }

    private void HandleFetchSnapshotResponse(int source, FetchSnapshotResponse response, long nowMs)
    {
        if (response.ErrorCode != (short)ErrorCode.None || !RaftProtocol.TryGetPartition(response, out var partition))
        {
            Backoff(source, nowMs);
            return;
        }

        if (HandleCommonResponse(partition.ErrorCode, partition.CurrentLeader.LeaderId, partition.CurrentLeader.LeaderEpoch, nowMs))
        {
            Backoff(source, nowMs);
            return;
        }

        if (partition.ErrorCode is RaftProtocol.SnapshotNotFound or RaftProtocol.PositionOutOfRange)
        {
            // The leader moved on to a newer snapshot: the next Fetch names it.
            _download = null;
            return;
        }

        if (partition.ErrorCode != (short)ErrorCode.None)
        {
            Backoff(source, nowMs);
            return;
        }

        if (Role != RaftRole.Follower || source != LeaderId || _download is not { } download)
        {
            return;
        }

        _fetchDeadline = nowMs + _config.FetchTimeoutMs;
        var id = new OffsetAndEpoch(partition.SnapshotId.EndOffset, partition.SnapshotId.Epoch);
        if (id != download.Id || !download.TryAppend(partition.Position, partition.Size, partition.UnalignedRecords ?? ReadOnlyMemory<byte>.Empty))
        {
            _download = null;
            return;
        }

        if (download.IsComplete)
        {
            _download = null;
            InstallSnapshot(id, download.Content);
        }
    }

    /// <summary>Kafka's follower path after the last chunk: store, restart the log at the snapshot end, load the listener.</summary>
    private void InstallSnapshot(OffsetAndEpoch id, byte[] content)
    {
        // Stored even when delivery already reached its end: the log may hold a divergent tail from there, which goes.
        _log.StoreSnapshot(id, content);
        if (id.Offset <= _nextDelivery)
        {
            return;
        }

        _listener?.OnSnapshot(id, content);
        _nextDelivery = id.Offset;
        _lastDeliveredEpoch = id.Epoch;
        if (_highWatermark < id.Offset)
        {
            _highWatermark = id.Offset;
            _log.UpdateHighWatermark(id.Offset);
        }

        // The log may have restarted at the snapshot: the voters are the snapshot's plus whatever the log still holds.
        RebuildVoters();
    }

    private bool ContainsSnapshot(OffsetAndEpoch id)
    {
        foreach (var held in _log.Snapshots)
        {
            if (held == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A snapshot being downloaded: chunks arrive in order into a buffer of the size the leader announced.
    /// Owned by the replica.</summary>
    private sealed class SnapshotDownload(OffsetAndEpoch id)
    {
        // Metadata snapshots are small next to the 2 GiB a byte array allows; anything larger is refused.
        private byte[]? _content;

        public OffsetAndEpoch Id { get; } = id;

        public long Position { get; private set; }

        public bool IsComplete => _content is not null && Position == _content.Length;

        public byte[] Content => _content!;

        public bool TryAppend(long position, long size, ReadOnlyMemory<byte> chunk)
        {
            if (position != Position || size <= 0 || size > Array.MaxLength || (_content is not null && _content.Length != size)
                || position + chunk.Length > size)
            {
                return false;
            }

            _content ??= new byte[size];
            chunk.Span.CopyTo(_content.AsSpan((int)position));
            Position += chunk.Length;
            return true;
        }
    }
}
