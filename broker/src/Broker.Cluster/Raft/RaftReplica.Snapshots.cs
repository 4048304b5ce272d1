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

    /// <summary>
    /// Where delivery has got to: the next offset <see cref="IRaftListener.OnCommitted"/> will be called for and the epoch
    /// of the last batch delivered (or of the snapshot loaded). A snapshot of the listener's state now has this id.
    /// </summary>
    public OffsetAndEpoch DeliveredEnd => new(_nextDelivery, _lastDeliveredEpoch);

    /// <summary>The newest snapshot in the log, or null.</summary>
    public OffsetAndEpoch? LatestSnapshot => _log.LatestSnapshot;

    /// <summary>The first offset the log still holds.</summary>
    public long LogStartOffset => _log.StartOffset;

    /// <summary>True while this follower downloads a snapshot from the leader.</summary>
    public bool IsFetchingSnapshot => _download is not null;

    /// <summary>
    /// Stores <paramref name="content"/>, the listener's state at <paramref name="id"/> (which must be
    /// <see cref="DeliveredEnd"/>, so everything it covers is committed), then lets the log drop what lies below it.
    /// False, storing nothing, when the id is not the delivered end or no newer than the latest snapshot.
    /// </summary>
    public bool TryCreateSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> content)
    {
        EnsureStarted();
        if (id != DeliveredEnd || id.Offset == 0 || (_log.LatestSnapshot is { } latest && latest.Offset >= id.Offset))
        {
            return false;
        }

        _log.StoreSnapshot(id, content);
        _log.DeleteBeforeSnapshot();
        return true;
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
    /// Leader side of Fetch (Kafka's validateOffsetAndEpoch): the snapshot to fetch instead, when the follower's position
    /// is below the log start, at the start with another epoch than the snapshot's, or in an epoch older than the
    /// snapshot's (the log no longer holds what is needed to compare). In each case the follower's high watermark is below
    /// the snapshot end, so installing it never drops a committed entry.
    /// </summary>
    private OffsetAndEpoch? SnapshotForFetch(long fetchOffset, int lastFetchedEpoch) =>
        _log.LatestSnapshot is { } snapshot
            && (fetchOffset < _log.StartOffset || (fetchOffset == _log.StartOffset && lastFetchedEpoch != snapshot.Epoch)
                || lastFetchedEpoch < snapshot.Epoch)
            ? snapshot
            : null;

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
        if (_log.LatestSnapshot != id)
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
        _log.DeleteBeforeSnapshot();
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
