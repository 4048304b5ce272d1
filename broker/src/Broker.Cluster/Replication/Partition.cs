using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Storage;

namespace Broker.Cluster.Replication;

/// <summary>
/// One partition replica hosted by this broker: its log, its current config and leadership, as leader the state of
/// its followers (<see cref="ReplicaSet"/>) and the high watermark they allow, and the signals that wake fetches parked
/// waiting for data and acks=all produces waiting for the high watermark. Appends are serialised by the log, leader
/// appends and role changes by a role lock; the signal swaps are guarded by a small lock. Thread-safe.
/// <para>
/// Waking: on the two hot paths, a client append and a follower's fetch, the waiters run on the calling thread, as
/// Kafka completes its delayed fetches and produces on the request thread that made them completable; handing each to
/// the thread pool cost a thread wake-up per waiter, which on a small machine was most of the replication CPU. Every other
/// path (role changes, appends by the coordinators, which may hold their own locks) hands them to the thread pool.
/// Either way the signal is taken out under the lock and completed after it is released.
/// </para>
/// </summary>
public sealed class Partition
{
    private readonly Lock _signalLock = new();

    // Kafka's leaderIsrUpdateLock: a leader append and a role change never interleave, so no client batch lands in the
    // log after the image made this replica a follower (the fetcher owns the log end from then on).
    private readonly Lock _roleLock = new();
    private TaskCompletionSource<bool>? _appended;

    // acks=all produces waiting for the high watermark, by the offset each needs (Kafka's delayed-produce purgatory): a
    // move releases only those it covers, so a backlog of waiting requests costs nothing per move. Guarded by _signalLock.
    private readonly PriorityQueue<TaskCompletionSource<ErrorCode>, long> _highWatermarkWaiters = new();
    private volatile LogConfig _config;
    private volatile ReplicaSet? _replicaSet;

    internal Partition(string topic, Guid topicId, int index, PartitionLog log, LogConfig config)
    {
        Topic = topic;
        TopicId = topicId;
        Index = index;
        Log = log;
        _config = config;
    }

    public string Topic { get; }

    public Guid TopicId { get; }

    public int Index { get; }

    public PartitionLog Log { get; }

    public LogConfig Config
    {
        get => _config;
        internal set
        {
            _config = value;
            _replicaSet?.UpdateMinInsyncReplicas(value.MinInsyncReplicas);
        }
    }

    public int LeaderEpoch { get; internal set; }

    /// <summary>The leader's broker id as of the last image (this broker when it leads), -1 when there is none.</summary>
    public int LeaderId { get; internal set; } = -1;

    public bool IsLeader { get; internal set; }

    /// <summary>The followers as this leader sees them; null unless this replica leads.</summary>
    public ReplicaSet? Replicas => _replicaSet;

    /// <summary>
    /// The metadata says this replica leads <paramref name="info"/>: a new leader epoch records where the epoch starts
    /// in the log and starts follower tracking afresh; the same epoch takes the committed ISR and partition epoch.
    /// </summary>
    internal void ApplyLeadership(int localId, PartitionInfo info, long replicaLagTimeMaxMs, long nowMs)
    {
        lock (_roleLock)
        {
            ApplyLeadershipLocked(localId, info, replicaLagTimeMaxMs, nowMs);
        }

        MaybeAdvanceHighWatermark(inline: false);
        ReleaseHighWatermarkWaiters(inline: false);
    }

    private void ApplyLeadershipLocked(int localId, PartitionInfo info, long replicaLagTimeMaxMs, long nowMs)
    {
        var current = _replicaSet;
        if (current is null || current.LeaderEpoch != info.LeaderEpoch)
        {
            if (Log.LeaderEpochs.LatestEpoch < info.LeaderEpoch)
            {
                // Kafka's maybeAssignEpochStartOffset: the new epoch starts at the current log end.
                Log.AssignEpochStartOffset(info.LeaderEpoch);
            }

            var entries = Log.LeaderEpochs.Entries;
            var epochStart = entries.Count > 0 && entries[^1].Epoch == info.LeaderEpoch ? entries[^1].StartOffset : Log.LogEndOffset;
            _replicaSet = new ReplicaSet(localId, info.Replicas, info.Isr, info.LeaderEpoch, info.PartitionEpoch, epochStart,
                new ReplicaSetOptions(replicaLagTimeMaxMs, _config.MinInsyncReplicas), nowMs);
        }
        else
        {
            current.OnPartitionChanged(info.Replicas, info.Isr, info.PartitionEpoch);
        }

        LeaderEpoch = info.LeaderEpoch;
        LeaderId = localId;
        IsLeader = true;
    }

    /// <summary>The metadata says another replica leads (or none does): stop acting as leader.</summary>
    internal void ApplyNotLeader(PartitionInfo info)
    {
        lock (_roleLock)
        {
            LeaderEpoch = info.LeaderEpoch;
            LeaderId = info.Leader;
            IsLeader = false;
            _replicaSet = null;
        }

        ReleaseHighWatermarkWaiters(inline: false);
        Signal(inline: false);
    }

    /// <summary>
    /// Appends a client batch (already validated) as leader (NOT_LEADER_OR_FOLLOWER once the image says otherwise, even
    /// for a request that checked leadership just before): checks its producer epoch and sequence, assigns offsets
    /// in place, writes it, advances the high watermark as far as the in-sync replicas allow (at once with no
    /// followers), then wakes parked fetches. A duplicate or rejected batch writes nothing (see <see cref="AppendResult"/>).
    /// <paramref name="wakeInline"/>: the woken fetches run on this thread before the call returns (the produce path,
    /// which holds no lock); otherwise they are handed to the thread pool.
    /// </summary>
    public AppendResult AppendAsLeader(Memory<byte> batches, long nowMs, bool wakeInline = false)
    {
        var config = _config;
        AppendResult result;
        lock (_roleLock)
        {
            if (!IsLeader)
            {
                return new AppendResult(-1, -1, -1, Log.LogStartOffset)
                {
                    Error = ErrorCode.NotLeaderOrFollower,
                    ErrorMessage = $"This broker no longer leads {Topic}-{Index}.",
                };
            }

            result = Log.Append(batches, LeaderEpoch, nowMs, config.LogAppendTime, AppendOrigin.Client);
        }

        if (result.Error != ErrorCode.None || result.Duplicate)
        {
            return result;
        }

        MaybeAdvanceHighWatermark(wakeInline);
        Signal(wakeInline);
        return result;
    }

    /// <summary>acks=all before the append: false when the ISR is below min.insync.replicas (NOT_ENOUGH_REPLICAS).</summary>
    public bool HasEnoughReplicasForAcksAll(out int isrSize, out int minIsr)
    {
        var set = _replicaSet;
        isrSize = set?.Isr.Count ?? 1;
        minIsr = set?.EffectiveMinIsr ?? 1;
        return set is null || set.HasEnoughReplicasForAcksAll();
    }

    /// <summary>
    /// acks=all after the append (Kafka's DelayedProduce): completes when the high watermark reaches
    /// <paramref name="requiredOffset"/> (the offset after the appended batch), with NOT_ENOUGH_REPLICAS_AFTER_APPEND if the
    /// maximal ISR is below min.insync.replicas by then, or NOT_LEADER_OR_FOLLOWER if leadership moved. Cancelling the
    /// token (the request timeout) throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async ValueTask<ErrorCode> WaitForHighWatermarkAsync(long requiredOffset, CancellationToken cancellationToken)
    {
        if (Covers(requiredOffset))
        {
            return HighWatermarkOutcome();
        }

        var waiter = new TaskCompletionSource<ErrorCode>();
        lock (_signalLock)
        {
            _highWatermarkWaiters.Enqueue(waiter, requiredOffset);
        }

        // A move or a role change between the check above and the enqueue released the queue without this waiter.
        ReleaseHighWatermarkWaiters(inline: true);
        using var timeout = cancellationToken.UnsafeRegister(
            static (state, token) => ((TaskCompletionSource<ErrorCode>)state!).TrySetCanceled(token), waiter);
        return await waiter.Task.ConfigureAwait(false);
    }

    // A produce needing the high watermark at offset is answered: it is covered, or this replica no longer leads.
    private bool Covers(long offset) => !IsLeader || Log.HighWatermark >= offset;

    // What a produce whose batch the high watermark covers (or whose leadership moved) is answered.
    private ErrorCode HighWatermarkOutcome()
    {
        if (!IsLeader)
        {
            return ErrorCode.NotLeaderOrFollower;
        }

        return _replicaSet is { } set && set.MaximalIsr.Count < set.EffectiveMinIsr
            ? ErrorCode.NotEnoughReplicasAfterAppend
            : ErrorCode.None;
    }

    /// <summary>
    /// A follower fetched from <paramref name="fetchOffset"/>: its progress may move the high watermark (waking acks=all
    /// produces, which run on this thread before the call returns) and may qualify it for the ISR, in which case the change
    /// to propose is returned.
    /// </summary>
    internal IsrChange? OnFollowerFetch(int replicaId, long fetchOffset, long followerLogStartOffset, long brokerEpoch, long nowMs, bool isrEligible = true)
    {
        if (_replicaSet is not { } set)
        {
            return null;
        }

        var change = set.OnFollowerFetch(replicaId, fetchOffset, followerLogStartOffset, brokerEpoch, Log.LogEndOffset, Log.HighWatermark, nowMs, isrEligible);
        MaybeAdvanceHighWatermark(inline: true);
        return change;
    }

    /// <summary>
    /// As a follower: the high watermark moved, so consumers fetching from this replica (KIP-392) may see more; wakes
    /// their parked fetches, as a leader's append does.
    /// </summary>
    internal void OnFollowerHighWatermarkMoved() => Signal(inline: false);

    /// <summary>
    /// A task that completes at the next append. Take it before reading, then wait on it if the read
    /// found too little: an append between the two still completes it.
    /// </summary>
    public Task NextAppend()
    {
        lock (_signalLock)
        {
            _appended ??= new TaskCompletionSource<bool>();
            return _appended.Task;
        }
    }

    private void MaybeAdvanceHighWatermark(bool inline)
    {
        if (!IsLeader)
        {
            return;
        }

        var target = _replicaSet is { } set ? set.HighWatermark(Log.LogEndOffset) : Log.LogEndOffset;
        if (target is { } offset && offset > Log.HighWatermark)
        {
            Log.HighWatermark = offset;
            ReleaseHighWatermarkWaiters(inline);

            // Consumers read up to the high watermark: data that just became visible wakes their parked fetches.
            Signal(inline);
        }
    }

    /// <summary>
    /// Completes the acks=all waiters the high watermark now covers, all of them once this replica no longer leads. A
    /// waiter already timed out is dropped here. One at a time, each completed outside the lock.
    /// </summary>
    private void ReleaseHighWatermarkWaiters(bool inline)
    {
        while (true)
        {
            TaskCompletionSource<ErrorCode>? waiter;
            lock (_signalLock)
            {
                if (!_highWatermarkWaiters.TryPeek(out waiter, out var offset) || !Covers(offset))
                {
                    return;
                }

                _highWatermarkWaiters.Dequeue();
            }

            if (waiter.Task.IsCompleted)
            {
                continue;
            }

            Complete(waiter, HighWatermarkOutcome(), inline);
        }
    }

    private void Signal(bool inline)
    {
        TaskCompletionSource<bool>? signal;
        lock (_signalLock)
        {
            signal = _appended;
            _appended = null;
        }

        if (signal is not null)
        {
            Complete(signal, true, inline);
        }
    }

    // The waiters run synchronously (see the class remarks), so a caller that may hold a lock of its own completes them
    // from the thread pool instead.
    private static void Complete<T>(TaskCompletionSource<T> waiter, T result, bool inline)
    {
        if (inline)
        {
            waiter.TrySetResult(result);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Waiter.TrySetResult(s.Result), (Waiter: waiter, Result: result), preferLocal: false);
        }
    }
}
