using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// Fetch (1) for consumers and followers: reads whole batches straight from segment files into pooled response
/// buffers (consumers up to the high watermark, followers up to the log end, their fetch offset recorded as their
/// progress, a diverged follower answered with its diverging epoch), honouring max_bytes / partition_max_bytes with KIP-74's first-batch exception. When less
/// than min_bytes is available it parks until an append to one of its partitions wakes it or max_wait_ms
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

            var (response, bytes, hasError) = Read(context, request, maxBytes);
            var remaining = time.GetElapsedTime(time.GetTimestamp(), deadline);
            if (bytes >= minBytes || hasError || signals is null || signals.Length == 0 || remaining <= TimeSpan.Zero || cancellationToken.IsCancellationRequested)
            {
                CountTraffic(context, request, response);
                return response;
            }

            context.ReturnResponseBuffers();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining, time, timeout.Token);
            await Task.WhenAny(Task.WhenAny(signals), delay).ConfigureAwait(false);
            await timeout.CancelAsync().ConfigureAwait(false);
        }
    }

    // Counted once per request, on the response that is sent: a parked fetch reads again after waking.
    private void CountTraffic(RequestContext context, FetchRequest request, FetchResponse response)
    {
        if (Follower(context, request).ReplicaId >= 0)
        {
            // Replication traffic is not client traffic (Kafka meters it separately).
            return;
        }

        for (var t = 0; t < request.Topics.Count; t++)
        {
            var topic = request.Topics[t];
            var partitions = response.Responses[t].Partitions;
            for (var p = 0; p < topic.Partitions.Count; p++)
            {
                if (Resolve(context, topic, topic.Partitions[p].Partition) is { } partition)
                {
                    var meters = _services.Metrics.Topic(partition.Topic);
                    meters.FetchRequests.Inc();
                    if (partitions[p].Records is { Length: > 0 } records)
                    {
                        meters.BytesOut.Inc(records.Length);
                    }
                }
            }
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
        request.Topics is [var topic] && (topic.Topic == LocalMetadataLog.TopicName || topic.TopicId == LocalMetadataLog.TopicId);

    private static int RaftReplicaId(RequestContext context, FetchRequest request) => Follower(context, request).ReplicaId;

    /// <summary>The fetching follower's broker id (ReplicaState from v15, replica_id before), or -1 for a consumer.</summary>
    private static (int ReplicaId, long BrokerEpoch) Follower(RequestContext context, FetchRequest request) =>
        context.ApiVersion >= 15 ? (request.ReplicaState.ReplicaId, request.ReplicaState.ReplicaEpoch) : (request.ReplicaId, -1);

    private Partition? Resolve(RequestContext context, FetchRequest.FetchTopic topic, int index) =>
        context.ApiVersion >= 13 ? _services.Replicas.Get(topic.TopicId, index) : _services.Replicas.Get(topic.Topic, index);

    private (FetchResponse Response, long Bytes, bool HasError) Read(RequestContext context, FetchRequest request, int maxBytes)
    {
        var response = new FetchResponse { SessionId = 0 };
        long total = 0;
        var hasError = false;
        var readCommitted = request.IsolationLevel == 1;
        var follower = Follower(context, request);
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
                var error = ReadPartition(context, topic, p, follower, maxBytes - total, firstData: total == 0, data, out var read);
                data.ErrorCode = (short)error;
                total += read;
                hasError |= error != ErrorCode.None;
            }
        }

        return (response, total, hasError);
    }

    private ErrorCode ReadPartition(
        RequestContext context,
        FetchRequest.FetchTopic topic,
        FetchRequest.FetchPartition request,
        (int ReplicaId, long BrokerEpoch) follower,
        long bytesLeft,
        bool firstData,
        FetchResponse.PartitionData data,
        out int read)
    {
        read = 0;
        var partition = Resolve(context, topic, request.Partition);
        if (partition is null)
        {
            return context.ApiVersion >= 13 ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition;
        }

        if (!partition.IsLeader)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        if (request.CurrentLeaderEpoch >= 0 && request.CurrentLeaderEpoch != partition.LeaderEpoch)
        {
            return request.CurrentLeaderEpoch < partition.LeaderEpoch ? ErrorCode.FencedLeaderEpoch : ErrorCode.UnknownLeaderEpoch;
        }

        var isFollower = follower.ReplicaId >= 0;
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
                return ErrorCode.None;
            }
        }

        var limit = (int)Math.Max(0, Math.Min(request.PartitionMaxBytes, bytesLeft));

        // Followers read up to the log end, consumers up to the high watermark. KIP-74: until some partition returned
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
        if (result.Length > 0)
        {
            var buffer = context.RentResponseBuffer(result.Length);
            read = result.CopyTo(buffer.AsSpan(0, result.Length));
            data.Records = buffer.AsMemory(0, read);
        }

        return ErrorCode.None;
    }
}
