using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Cluster.Raft;

/// <summary>
/// Fetch-based replication: the leader validates a follower's (fetch offset, last fetched epoch) against its log and
/// answers records plus the high watermark, or the diverging epoch; followers append, flush and fetch again.
/// </summary>
public sealed partial class RaftReplica
{
    private void SendFetch(int destination, long nowMs) =>
        Send(destination, RaftProtocol.FetchRequest(_config.ClusterId, LocalId, Epoch, _log.EndOffset, _config.FetchMaxWaitMs,
            _config.FetchMaxBytes, DirectoryId), nowMs);

    private void HandleFetchRequest(int source, long correlationId, FetchRequest request, long nowMs, bool mayPark)
    {
        if (!ClusterIdMatches(request.ClusterId))
        {
            Respond(new FetchResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId });
            return;
        }

        if (!RaftProtocol.TryGetPartition(request, out var partition))
        {
            Respond(new FetchResponse { ErrorCode = (short)ErrorCode.InvalidRequest });
            return;
        }

        if (KRaftVersion >= 1 && partition.CurrentLeaderEpoch > Epoch && partition.LastFetchedEpoch <= partition.CurrentLeaderEpoch)
        {
            // A dynamic quorum's replica can be in a later epoch than every leader: a voter removed while it was away runs
            // elections (by its stale voter set) that can never succeed, and drags the replicas it asks into its epoch.
            // Moving to that epoch (Raft's rule for any later term) lets the voters elect a leader there, which both
            // then find. Kafka answers UNKNOWN_LEADER_EPOCH and relies on pre-vote instead; the simulation found the
            // livelock without either.
            LearnLeader(ElectionState.NoId, partition.CurrentLeaderEpoch, nowMs);
        }

        // The fetch position's own sanity first, then Kafka's validateLeaderOnlyRequest.
        var error = request.MaxWaitMs < 0 || partition.FetchOffset < 0 || partition.LastFetchedEpoch < 0
                || partition.LastFetchedEpoch > partition.CurrentLeaderEpoch ? ErrorCode.InvalidRequest
            : partition.CurrentLeaderEpoch < Epoch ? ErrorCode.FencedLeaderEpoch
            : partition.CurrentLeaderEpoch > Epoch ? ErrorCode.UnknownLeaderEpoch
            : Role != RaftRole.Leader ? ErrorCode.NotLeaderOrFollower
            : ErrorCode.None;
        if (error != ErrorCode.None)
        {
            Respond(RaftProtocol.FetchResponse((short)error, LeaderId, Epoch, _highWatermark).Response);
            return;
        }

        var replicaId = RaftProtocol.ReplicaId(request);
        var leader = _leader!;

        // A parked fetch answered later is the same fetch: it must not count as the replica being heard from again.
        var firstAttempt = mayPark;
        if (firstAttempt)
        {
            leader.RecordVoterFetch(replicaId, nowMs);

            // A voter fetching in our epoch knows we lead: no need to keep sending it BeginQuorumEpoch.
            leader.UnacknowledgedVoters.Remove(replicaId);
        }

        var (response, data) = RaftProtocol.FetchResponse((short)ErrorCode.None, LeaderId, Epoch, _highWatermark, _log.StartOffset);
        if (SnapshotForFetch(partition.FetchOffset, partition.LastFetchedEpoch) is { } snapshot)
        {
            // The log no longer holds what the follower needs next: it downloads the snapshot, then fetches after it.
            data.SnapshotId.EndOffset = snapshot.Offset;
            data.SnapshotId.Epoch = snapshot.Epoch;
            Respond(response);
            return;
        }

        if (partition.FetchOffset > 0)
        {
            var end = _log.EndOffsetForEpoch(partition.LastFetchedEpoch);
            if (end.Epoch != partition.LastFetchedEpoch || end.Offset < partition.FetchOffset)
            {
                // The follower's log differs from ours after end.Offset: it truncates there and fetches again.
                data.DivergingEpoch.Epoch = end.Epoch;
                data.DivergingEpoch.EndOffset = end.Offset;
                Respond(response);
                return;
            }
        }

        if (firstAttempt && replicaId >= 0 && leader.UpdateReplica(replicaId, partition.FetchOffset, _log.EndOffset.Offset, nowMs, partition.ReplicaDirectoryId))
        {
            SetHighWatermark(leader.HighWatermark);
            CompleteParkedFetches(nowMs);
            data.HighWatermark = _highWatermark;
        }

        var maxBytes = Math.Min(_config.FetchMaxBytes, Math.Min(request.MaxBytes, partition.PartitionMaxBytes > 0 ? partition.PartitionMaxBytes : int.MaxValue));
        var records = _log.Read(partition.FetchOffset, maxBytes);
        if (records.IsEmpty && mayPark && request.MaxWaitMs > 0)
        {
            // Long poll: answered on the next append or high-watermark move, or when the wait runs out.
            _parked.Add(new ParkedFetch(source, correlationId, request, nowMs + Math.Min(request.MaxWaitMs, _config.FetchMaxWaitMs)));
            return;
        }

        data.Records = records;
        Respond(response);

        void Respond(FetchResponse body)
        {
            // Kafka's NodeEndpoints (v16+): an observer that found us through a bootstrap server learns where the leader is.
            if (LeaderId >= 0 && VoterEndpoint(LeaderId) is { } endpoint)
            {
                body.NodeEndpoints.Add(new FetchResponse.NodeEndpoint { NodeId = endpoint.Id, Host = endpoint.Host, Port = endpoint.Port });
            }

            _outbound.Enqueue(new RaftMessage(LocalId, source, correlationId, body));
        }
    }

    private void CompleteParkedFetches(long nowMs)
    {
        if (_parked.Count == 0)
        {
            return;
        }

        var parked = _parked.ToArray();
        _parked.Clear();
        foreach (var fetch in parked)
        {
            HandleFetchRequest(fetch.Source, fetch.CorrelationId, fetch.Request, nowMs, mayPark: false);
        }
    }

    private void ExpireParkedFetches(long nowMs)
    {
        for (var i = _parked.Count - 1; i >= 0; i--)
        {
            var fetch = _parked[i];
            if (fetch.DeadlineMs <= nowMs)
            {
                _parked.RemoveAt(i);
                HandleFetchRequest(fetch.Source, fetch.CorrelationId, fetch.Request, nowMs, mayPark: false);
            }
        }
    }

    private void HandleFetchResponse(int source, FetchResponse response, long nowMs)
    {
        if (response.ErrorCode != (short)ErrorCode.None || !RaftProtocol.TryGetPartition(response, out var partition))
        {
            Backoff(source, nowMs);
            return;
        }

        if (HandleCommonResponse(partition.ErrorCode, partition.CurrentLeader.LeaderId, partition.CurrentLeader.LeaderEpoch, nowMs)
            || partition.ErrorCode != (short)ErrorCode.None)
        {
            Backoff(source, nowMs);
            return;
        }

        if (Role != RaftRole.Follower || source != LeaderId)
        {
            return;
        }

        _fetchDeadline = nowMs + _config.FetchTimeoutMs;
        if (partition.SnapshotId.EndOffset >= 0 && partition.SnapshotId.Epoch >= 0)
        {
            // Below the leader's log start: the next request is a FetchSnapshot.
            var id = new OffsetAndEpoch(partition.SnapshotId.EndOffset, partition.SnapshotId.Epoch);
            if (_download?.Id != id)
            {
                _download = new SnapshotDownload(id);
            }

            return;
        }

        if (partition.DivergingEpoch.EndOffset >= 0 && partition.DivergingEpoch.Epoch >= 0)
        {
            TruncateToLeader(new OffsetAndEpoch(partition.DivergingEpoch.EndOffset, partition.DivergingEpoch.Epoch));
            return;
        }

        if (partition.Records is { IsEmpty: false } fetched && WholeBatches(fetched) is { IsEmpty: false } records)
        {
            if (RecordBatchHeader.BaseOffset(records.Span) != _log.EndOffset.Offset)
            {
                // An answer to some earlier fetch (a reconnect, a restart); the next fetch asks from the right place.
                return;
            }

            _log.AppendAsFollower(records);
            OnAppended(records);

            // Durable before the next fetch reports the new end offset, which the leader counts towards the commit.
            _log.Flush();
        }

        SetHighWatermark(Math.Min(partition.HighWatermark, _log.EndOffset.Offset));
    }

    /// <summary>
    /// The complete batches at the start of <paramref name="records"/>: a Kafka leader may cut the last batch of a
    /// fetch response at the byte limit, and the partial batch is fetched again next time.
    /// </summary>
    private static ReadOnlyMemory<byte> WholeBatches(ReadOnlyMemory<byte> records)
    {
        var span = records.Span;
        var position = 0;
        while (span.Length - position >= RecordBatchHeader.LogOverhead)
        {
            var size = RecordBatchHeader.TotalSize(span[position..]);
            if (size < RecordBatchHeader.Size || size > span.Length - position)
            {
                break;
            }

            position += size;
        }

        return records[..position];
    }

    /// <summary>Kafka's ReplicatedLog.truncateToEndOffset for the leader's diverging epoch.</summary>
    private void TruncateToLeader(OffsetAndEpoch diverging)
    {
        long offset;
        if (diverging.Epoch == 0)
        {
            offset = Math.Min(diverging.Offset, _log.EndOffset.Offset);
        }
        else
        {
            var local = _log.EndOffsetForEpoch(diverging.Epoch);
            offset = local.Epoch == diverging.Epoch ? Math.Min(local.Offset, diverging.Offset) : local.Offset;
        }

        if (offset < _highWatermark)
        {
            // Committed entries are on every later leader; truncating one means the protocol is broken. Stop loudly.
            throw new InvalidOperationException(
                $"Replica {LocalId} asked to truncate to {offset}, below its high watermark {_highWatermark} (diverging {diverging}).");
        }

        _log.TruncateTo(offset);
        OnTruncated(offset);
    }
}
