using Broker.Cluster.Network;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Broker.Cluster.Replication;

/// <summary>
/// One follower fetch loop (Kafka's ReplicaFetcherThread) towards one leader broker: a sessionless Fetch of every
/// partition it holds that is not backing off, then each partition's answer applied (<see cref="FollowerFetch"/>) under
/// the fetcher's lock, so partitions added or removed meanwhile are never touched by a stale response. A failed request
/// backs every partition in it off by replica.fetch.backoff.ms. Thread-safe; the loop is its own.
/// </summary>
public sealed partial class ReplicaFetcher : IAsyncDisposable
{
    private readonly ReplicaFetcherOptions _options;
    private readonly Func<long> _brokerEpoch;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IKafkaRequestSender _connection;
    private readonly Lock _lock = new();
    private readonly Dictionary<(Guid TopicId, int Partition), FollowerFetchState> _states = [];
    private readonly Dictionary<Guid, FetchRequest.FetchTopic> _topicEntries = [];
    private readonly List<FollowerFetchState> _inRequest = [];
    private readonly FetchRequest _request;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    /// <param name="sender">The connection to the leader; the fetcher owns and disposes it.</param>
    public ReplicaFetcher(int leaderId, int fetcherIndex, ReplicaFetcherOptions options, IKafkaRequestSender sender, Func<long> brokerEpoch,
        TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sender);
        LeaderId = leaderId;
        FetcherIndex = fetcherIndex;
        _options = options;
        _brokerEpoch = brokerEpoch;
        _time = time;
        _logger = logger;
        _connection = sender;
        _request = new FetchRequest
        {
            MaxWaitMs = options.MaxWaitMs,
            MinBytes = options.MinBytes,
            MaxBytes = options.MaxBytes,
            SessionId = 0,
            SessionEpoch = -1,
        };
        _request.ReplicaState.ReplicaId = options.NodeId;
    }

    public int LeaderId { get; }

    public int FetcherIndex { get; }

    public int PartitionCount
    {
        get
        {
            lock (_lock)
            {
                return _states.Count;
            }
        }
    }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Adds or replaces a partition's state (a new leader epoch replaces the old one).</summary>
    public void Add(FollowerFetchState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_lock)
        {
            _states[(state.Partition.TopicId, state.Partition.Index)] = state;
            WakeLocked();
        }
    }

    /// <summary>Removes a partition; once this returns, the loop will not append to it (responses are applied under the lock).</summary>
    public bool Remove(Partition partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        lock (_lock)
        {
            return _states.Remove((partition.TopicId, partition.Index));
        }
    }

    private void WakeLocked()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private async Task RunAsync()
    {
        var stopping = _stop.Token;
        while (!stopping.IsCancellationRequested)
        {
            Task changed;
            TimeSpan wait;
            lock (_lock)
            {
                changed = _changed.Task;
                wait = BuildRequestLocked();
            }

            if (_inRequest.Count == 0)
            {
                await WaitAsync(changed, wait, stopping).ConfigureAwait(false);
                continue;
            }

            KafkaResponse<FetchResponse>? response = null;
            try
            {
                response = await _connection.SendAsync<FetchResponse>(_request, ReplicaFetcherOptions.FetchVersion, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (KafkaConnectionException e)
            {
                LogFetchFailed(LeaderId, e.Message);
            }
#pragma warning disable CA1031 // The loop must survive anything one request does; its partitions back off and retry.
            catch (Exception e) when (!stopping.IsCancellationRequested)
#pragma warning restore CA1031
            {
                LogFetchCrashed(LeaderId, e);
            }

            using (response)
            {
                lock (_lock)
                {
                    ApplyLocked(response?.Message);
                }
            }
        }
    }

    private async Task WaitAsync(Task changed, TimeSpan wait, CancellationToken stopping)
    {
        try
        {
            await changed.WaitAsync(wait, _time, stopping).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A backed-off partition is due again.
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Fills the reusable request with the partitions due now; returns how long until the next one is due
    /// when none is.</summary>
    private TimeSpan BuildRequestLocked()
    {
        _inRequest.Clear();
        foreach (var entry in _topicEntries.Values)
        {
            entry.Partitions.Clear();
        }

        _request.Topics.Clear();
        _request.ReplicaState.ReplicaEpoch = _brokerEpoch();
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var nextDue = long.MaxValue;
        bool? throttleExceeded = null;
        foreach (var state in _states.Values)
        {
            if (state.DelayedUntilMs > nowMs)
            {
                nextDue = Math.Min(nextDue, state.DelayedUntilMs);
                continue;
            }

            // Kafka's shouldFollowerThrottle: an out-of-sync replica of a throttled partition waits while the follower
            // throttle's rate is over its bound; with nothing else to fetch, the loop looks again after the fetch backoff.
            if (_options.Throttle is { } throttle && state.Lag != 0 && throttle.IsThrottled(state.Partition.Topic, state.Partition.Index)
                && (throttleExceeded ??= throttle.IsExceeded(nowMs)))
            {
                nextDue = Math.Min(nextDue, nowMs + _options.BackoffMs);
                continue;
            }

            var topicId = state.Partition.TopicId;
            if (!_topicEntries.TryGetValue(topicId, out var topic))
            {
                topic = new FetchRequest.FetchTopic { TopicId = topicId };
                _topicEntries[topicId] = topic;
            }

            if (topic.Partitions.Count == 0)
            {
                _request.Topics.Add(topic);
            }

            topic.Partitions.Add(FollowerFetch.FillRequest(state, _options.PartitionMaxBytes));
            state.InFlight = true;
            _inRequest.Add(state);
        }

        return nextDue == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(1, nextDue - nowMs));
    }

    private void ApplyLocked(FetchResponse? response)
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (response is null || response.ErrorCode != (short)ErrorCode.None)
        {
            if (response is not null)
            {
                LogFetchFailed(LeaderId, ((ErrorCode)response.ErrorCode).ToString());
            }

            BackOffInFlightLocked(nowMs);
            return;
        }

        foreach (var topic in response.Responses)
        {
            foreach (var data in topic.Partitions)
            {
                // Only the state the request was built from: a replaced (new epoch) or removed partition ignores it.
                if (!_states.TryGetValue((topic.TopicId, data.PartitionIndex), out var state) || !state.InFlight
                    || state.Request.FetchOffset != state.FetchOffset)
                {
                    continue;
                }

                state.InFlight = false;
                try
                {
                    // As in Kafka, the traffic of every throttled partition counts, in sync or not.
                    if (_options.Throttle is { } throttle && data.Records is { Length: > 0 } fetched && throttle.IsThrottled(state.Partition.Topic, state.Partition.Index))
                    {
                        throttle.Record(fetched.Length, nowMs);
                    }

                    var outcome = FollowerFetch.Process(state, data, nowMs, _options.BackoffMs);
                    if (outcome == FollowerFetchOutcome.Delayed)
                    {
                        LogPartitionError(state.Partition.Topic, state.Partition.Index, LeaderId, (ErrorCode)data.ErrorCode);
                    }
                    else if (outcome == FollowerFetchOutcome.Truncated)
                    {
                        LogTruncated(state.Partition.Topic, state.Partition.Index, state.FetchOffset);
                    }
                }
#pragma warning disable CA1031 // One partition's failure (a log that refuses the leader's batches) must not stop the others.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    state.DelayedUntilMs = nowMs + _options.BackoffMs;
                    LogPartitionFailed(state.Partition.Topic, state.Partition.Index, e);
                }
            }
        }

        BackOffInFlightLocked(nowMs, onlyUnanswered: true);
    }

    // A failed request backs off every partition it carried; after a good response, partitions it left out are simply
    // fetched again.
    private void BackOffInFlightLocked(long nowMs, bool onlyUnanswered = false)
    {
        foreach (var state in _inRequest)
        {
            if (state.InFlight)
            {
                state.InFlight = false;
                if (!onlyUnanswered)
                {
                    state.DelayedUntilMs = nowMs + _options.BackoffMs;
                }
            }
        }

        _inRequest.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetch from leader {LeaderId} failed: {Reason}")]
    private partial void LogFetchFailed(int leaderId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fetch from leader {LeaderId} failed unexpectedly")]
    private partial void LogFetchCrashed(int leaderId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetching {Topic}-{Partition} from leader {LeaderId}: {Error}; backing off")]
    private partial void LogPartitionError(string topic, int partition, int leaderId, ErrorCode error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Truncated {Topic}-{Partition}; fetching from offset {Offset}")]
    private partial void LogTruncated(string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Applying the fetch of {Topic}-{Partition} failed; backing off")]
    private partial void LogPartitionFailed(string topic, int partition, Exception exception);
}
