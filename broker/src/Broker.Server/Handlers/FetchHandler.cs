using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// Fetch (1) for consumers and followers: reads whole batches straight from segment files into pooled response
/// buffers (consumers up to the high watermark, followers up to the log end, their fetch offset recorded as their
/// progress, a diverged follower answered with its diverging epoch), honouring max_bytes / partition_max_bytes with
/// KIP-74's first-batch exception. Fetch from follower (KIP-392): with replica.selector.class set, the leader answers a
/// consumer (v11+) with the preferred read replica for its rack_id and no records; a follower serves consumers (v11+)
/// up to its own high watermark. When less than min_bytes is available (and nothing calls for an answer now: an error,
/// a diverging epoch, a preferred replica) it parks until an append to one of its partitions wakes it or max_wait_ms
/// passes; no polling. Fetch sessions are not kept: full fetches get session id 0 and incremental ones
/// FETCH_SESSION_ID_NOT_FOUND, which Kafka documents as compliant (clients fall back to full fetches).
/// Thread-safe.
/// </summary>
internal sealed class FetchHandler : ApiHandler<FetchRequest, FetchResponse>
{
    private readonly BrokerServices _services;

    public FetchHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 1;

    public override short MinVersion => 4;

    public override short MaxVersion => 17;

    protected override async ValueTask<FetchResponse?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellationToken)
    {
        if (request.SessionEpoch > 0)
        {
            return new FetchResponse { ErrorCode = (short)ErrorCode.FetchSessionIdNotFound, SessionId = 0 };
        }

        if (_services.Quorum is { } quorum && IsMetadataFetch(request))
        {
            // __cluster_metadata-0 is the Raft log: its fetches are the quorum's, answered by the replica.
            return await quorum.ExchangeAsync(RaftReplicaId(context, request), request, cancellationToken).ConfigureAwait(false) as FetchResponse
                ?? new FetchResponse { ErrorCode = (short)ErrorCode.RequestTimedOut };
        }

        var time = _services.Time;
        var deadline = time.GetTimestamp() + (long)(Math.Max(0, request.MaxWaitMs) * (time.TimestampFrequency / 1000.0));
        var maxBytes = Math.Min(request.MaxBytes, _services.Options.MaxFetchBytes);
        var minBytes = Math.Min(request.MinBytes, maxBytes);
        Task[]? signals = null;
        while (true)
        {
            if (request.MaxWaitMs > 0 && minBytes > 0)
            {
                // Taken before reading, so an append racing with the read still wakes us.
                signals = CollectSignals(context, request, signals);
            }

            var (response, bytes, answerNow) = Read(context, request, maxBytes);
            var remaining = time.GetElapsedTime(time.GetTimestamp(), deadline);
            if (bytes >= minBytes || answerNow || signals is null || signals.Length == 0 || remaining <= TimeSpan.Zero || cancellationToken.IsCancellationRequested)
            {
                CountTraffic(context, request, response);
                return response;
            }

            context.ReturnResponseBuffers();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining, time, timeout.Token);
            await Task.WhenAny(signals.Length == 1 ? signals[0] : Task.WhenAny(signals), delay).ConfigureAwait(false);

            // Stops the timer here: CancelAsync would move the rest of this fetch to another thread, a wake-up per fetch.
#pragma warning disable CA1849 // Cancel runs only the delay's own timer callback, which does not block.
            timeout.Cancel();
#pragma warning restore CA1849
        }
    }

    // Counted once per request, on the response that is sent: a parked fetch reads again after waking. Replication traffic
    // is not client traffic (Kafka meters it separately); what throttled partitions send a follower counts against the
    // leader replication throttle instead, in sync or not, as in Kafka.
    private void CountTraffic(RequestContext context, FetchRequest request, FetchResponse response)
    {
        ReplicationQuota? throttle = null;
        if (Follower(context, request).ReplicaId >= 0)
        {
            throttle = _services.ReplicationQuotas.Leader;
            if (!throttle.IsActive)
            {
                return;
            }
        }

        long throttledBytes = 0;
        for (var t = 0; t < request.Topics.Count; t++)
        {
            var topic = request.Topics[t];
            var partitions = response.Responses[t].Partitions;
            for (var p = 0; p < topic.Partitions.Count; p++)
            {
                if (Resolve(context, topic, topic.Partitions[p].Partition) is not { } partition)
                {
                    continue;
                }

                var bytes = partitions[p].Records?.Length ?? 0;
                if (throttle is not null)
                {
                    throttledBytes += throttle.IsThrottled(partition.Topic, partition.Index) ? bytes : 0;
                    continue;
                }

                var meters = _services.Metrics.Topic(partition.Topic);
                meters.FetchRequests.Inc();
                if (bytes > 0)
                {
                    meters.BytesOut.Inc(bytes);
                }
            }
        }

        if (throttledBytes > 0)
        {
            throttle!.Record(throttledBytes, _services.Time.GetUtcNow().ToUnixTimeMilliseconds());
        }
    }

    private Task[] CollectSignals(RequestContext context, FetchRequest request, Task[]? reuse)
    {
        var count = 0;
        foreach (var topic in request.Topics)
        {
            count += topic.Partitions.Count;
        }

        var signals = reuse is not null && reuse.Length == count ? reuse : new Task[count];
        var i = 0;
        foreach (var topic in request.Topics)
        {
            foreach (var p in topic.Partitions)
            {
                var partition = Resolve(context, topic, p.Partition);
                signals[i++] = partition?.NextAppend() ?? Task.CompletedTask;
            }
        }

        return signals;
    }

    private static bool IsMetadataFetch(FetchRequest request) =>
        request.Topics is [var topic] && (topic.Topic == MetadataTopic.TopicName || topic.TopicId == MetadataTopic.TopicId);

    private static int RaftReplicaId(RequestContext context, FetchRequest request) => Follower(context, request).ReplicaId;

    /// <summary>The fetching follower's broker id (ReplicaState from v15, replica_id before), or -1 for a consumer.</summary>
    private static (int ReplicaId, long BrokerEpoch) Follower(RequestContext context, FetchRequest request) =>
        context.ApiVersion >= 15 ? (request.ReplicaState.ReplicaId, request.ReplicaState.ReplicaEpoch) : (request.ReplicaId, -1);

    private bool IsInImage(RequestContext context, FetchRequest.FetchTopic topic, int index)
    {
        var image = _services.Metadata.Image;
        var found = context.ApiVersion >= 13 ? image.TopicsById.TryGetValue(topic.TopicId, out var info) : image.TopicsByName.TryGetValue(topic.Topic, out info);
        return found && index >= 0 && index < info!.Partitions.Length;
    }

    private Partition? Resolve(RequestContext context, FetchRequest.FetchTopic topic, int index) =>
        context.ApiVersion >= 13 ? _services.Replicas.Get(topic.TopicId, index) : _services.Replicas.Get(topic.Topic, index);

    /// <returns>The response, its record bytes, and whether it must go now whatever min_bytes says (Kafka answers at
    /// once on an error, a diverging epoch or a preferred read replica).</returns>
    private (FetchResponse Response, long Bytes, bool AnswerNow) Read(RequestContext context, FetchRequest request, int maxBytes)
    {
        var response = new FetchResponse { SessionId = 0 };
        long total = 0;
        var answerNow = false;
        var readCommitted = request.IsolationLevel == 1;
        var follower = Follower(context, request);
        var nowMs = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
            response.Responses.Add(topicResponse);
            foreach (var p in topic.Partitions)
            {
                var data = new FetchResponse.PartitionData
                {
                    PartitionIndex = p.Partition,
                    HighWatermark = -1,
                    LastStableOffset = -1,
                    LogStartOffset = -1,
                    PreferredReadReplica = -1,
                    AbortedTransactions = readCommitted ? [] : null,
                    Records = ReadOnlyMemory<byte>.Empty,
                };
                topicResponse.Partitions.Add(data);
                var error = ReadPartition(context, topic, p, follower, request.RackId, nowMs, maxBytes - total, firstData: total == 0, data, out var read, out var noRead);
                data.ErrorCode = (short)error;
                total += read;
                answerNow |= error != ErrorCode.None || noRead;
            }
        }

        return (response, total, answerNow);
    }

    private ErrorCode ReadPartition(
        RequestContext context,
        FetchRequest.FetchTopic topic,
        FetchRequest.FetchPartition request,
        (int ReplicaId, long BrokerEpoch) follower,
        string? clientRack,
        long nowMs,
        long bytesLeft,
        bool firstData,
        FetchResponse.PartitionData data,
        out int read,
        out bool noRead)
    {
        read = 0;
        noRead = false;
        var partition = Resolve(context, topic, request.Partition);
        if (partition is null)
        {
            // Kafka's getPartitionOrError: a partition the image knows but this broker does not host (e.g. a preferred
            // read replica since moved away) is NOT_LEADER_OR_FOLLOWER, so the client refreshes metadata and goes back
            // to the leader.
            return IsInImage(context, topic, request.Partition) ? ErrorCode.NotLeaderOrFollower
                : context.ApiVersion >= 13 ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition;
        }

        var isFollower = follower.ReplicaId >= 0;

        // Replicas fetch from the leader only; so do consumers before v11, which cannot be sent elsewhere (no rack_id).
        var isLeader = partition.IsLeader;
        if (!isLeader && (isFollower || context.ApiVersion < 11))
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        if (request.CurrentLeaderEpoch >= 0 && request.CurrentLeaderEpoch != partition.LeaderEpoch)
        {
            return request.CurrentLeaderEpoch < partition.LeaderEpoch ? ErrorCode.FencedLeaderEpoch : ErrorCode.UnknownLeaderEpoch;
        }

        if (isFollower && partition.Replicas?.IsReplica(follower.ReplicaId) != true)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        var log = partition.Log;
        data.LogStartOffset = log.LogStartOffset;
        if (isFollower && request.LastFetchedEpoch >= 0)
        {
            // KIP-595 style: a follower whose last fetched epoch ends earlier here (or is unknown) has diverged; it gets
            // the largest epoch at most its own and where that ends, truncates, and fetches again. No records.
            var (epoch, endOffset) = log.EndOffsetForEpoch(request.LastFetchedEpoch);
            if (epoch < request.LastFetchedEpoch || endOffset < request.FetchOffset)
            {
                data.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = epoch, EndOffset = endOffset };
                data.HighWatermark = log.HighWatermark;
                data.LastStableOffset = data.HighWatermark;
                noRead = true;
                return ErrorCode.None;
            }
        }

        if (!isFollower && isLeader && context.ApiVersion >= 11 && _services.Options.ReplicaSelector is { } selector)
        {
            var preferred = PreferredReadReplica.Find(selector, partition, _services.Metadata.Image, context.ListenerName, clientRack, request.FetchOffset, nowMs);
            if (preferred >= 0)
            {
                // As in Kafka, the answer naming another replica carries no records: the client re-sends the fetch there.
                data.PreferredReadReplica = preferred;
                data.HighWatermark = log.HighWatermark;
                data.LastStableOffset = data.HighWatermark;
                noRead = true;
                return ErrorCode.None;
            }
        }

        var limit = (int)Math.Max(0, Math.Min(request.PartitionMaxBytes, bytesLeft));

        // Followers read up to the log end, consumers up to the high watermark (on a follower replica its own, which trails
        // the leader's: a consumer there never sees what the leader has not committed). KIP-74: until some partition returned
        // data, the first batch comes back whole even if over the limits.
        var highWatermark = log.HighWatermark;
        var result = log.Read(request.FetchOffset, limit, isFollower ? log.LogEndOffset : highWatermark, minOneBatch: firstData);
        if (result.OffsetOutOfRange)
        {
            data.HighWatermark = highWatermark;
            data.LastStableOffset = highWatermark;
            return ErrorCode.OffsetOutOfRange;
        }

        if (isFollower)
        {
            // The follower's fetch offset is its log end: it may move the high watermark and bring it into the ISR.
            _services.Replicas.OnFollowerFetch(partition, follower.ReplicaId, request.FetchOffset, request.LogStartOffset, follower.BrokerEpoch);
            highWatermark = log.HighWatermark;
        }

        data.HighWatermark = highWatermark;
        data.LastStableOffset = highWatermark;

        // Kafka's shouldLeaderThrottle: an out-of-sync follower of a throttled partition gets no records while the leader
        // throttle's rate is over its bound, and they do not count towards min_bytes, so a parked fetch keeps waiting.
        if (isFollower && result.Length > 0 && _services.ReplicationQuotas.Leader is { IsActive: true } throttle
            && throttle.IsThrottled(partition.Topic, partition.Index) && partition.Replicas?.Isr.Contains(follower.ReplicaId) != true
            && throttle.IsExceeded(nowMs))
        {
            return ErrorCode.None;
        }

        if (result.Length > 0)
        {
            var buffer = context.RentResponseBuffer(result.Length);
            read = result.CopyTo(buffer.AsSpan(0, result.Length));
            data.Records = buffer.AsMemory(0, read);
        }

        return ErrorCode.None;
    }
}
