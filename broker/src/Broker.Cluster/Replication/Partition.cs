using Broker.Storage;

namespace Broker.Cluster.Replication;

/// <summary>
/// One partition replica hosted by this broker: its log, its current config and leadership, and the
/// signal that wakes fetches parked waiting for data. Appends are serialised by the log; the signal
/// swap is guarded by a small lock. Thread-safe.
/// </summary>
public sealed class Partition
{
    private readonly Lock _signalLock = new();
    private TaskCompletionSource? _appended;
    private volatile LogConfig _config;

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
        internal set => _config = value;
    }

    public int LeaderEpoch { get; internal set; }

    public bool IsLeader { get; internal set; }

    /// <summary>
    /// Appends a client batch (already validated) as leader: checks its producer epoch and sequence, assigns offsets
    /// in place, writes it, and (single replica today) advances the high watermark to the new log end, then wakes
    /// parked fetches. A duplicate or rejected batch writes nothing (see <see cref="AppendResult"/>).
    /// </summary>
    public AppendResult AppendAsLeader(Memory<byte> batches, long nowMs)
    {
        var config = _config;
        var result = Log.Append(batches, LeaderEpoch, nowMs, config.LogAppendTime, AppendOrigin.Client);
        if (result.Error != Protocol.ErrorCode.None || result.Duplicate)
        {
            return result;
        }

        Log.HighWatermark = Log.LogEndOffset;
        Signal();
        return result;
    }

    /// <summary>
    /// A task that completes at the next append. Take it before reading, then wait on it if the read
    /// found too little: an append between the two still completes it.
    /// </summary>
    public Task NextAppend()
    {
        lock (_signalLock)
        {
            _appended ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _appended.Task;
        }
    }

    private void Signal()
    {
        TaskCompletionSource? signal;
        lock (_signalLock)
        {
            signal = _appended;
            _appended = null;
        }

        signal?.TrySetResult();
    }
}
