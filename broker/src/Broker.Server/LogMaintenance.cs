using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Background timers for the logs: time-based flushes (flush.ms), recovery-point checkpoints
/// (log.flush.offset.checkpoint.interval.ms), high-watermark checkpoints (replica.high.watermark.checkpoint.interval.ms),
/// retention (log.retention.check.interval.ms) and producer-state expiry (producer.id.expiration.check.interval.ms).
/// Thread-safe.
/// </summary>
internal sealed partial class LogMaintenance : IAsyncDisposable
{
    private readonly LogManager _logs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LogMaintenance(LogManager logs, long flushCheckIntervalMs, long checkpointIntervalMs, long retentionCheckIntervalMs, TimeProvider time, ILogger logger)
    {
        _logs = logs;
        _time = time;
        _logger = logger;
        var tickMs = Math.Clamp(Math.Min(flushCheckIntervalMs, retentionCheckIntervalMs), 10, 1000);
        _loop = RunAsync(tickMs, Math.Max(checkpointIntervalMs, 100), Math.Max(retentionCheckIntervalMs, 10));
    }

    /// <summary>replica.high.watermark.checkpoint.interval.ms.</summary>
    public long HighWatermarkCheckpointIntervalMs { get; init; } = 5000;

    /// <summary>producer.id.expiration.ms and how often it is applied (producer.id.expiration.check.interval.ms).</summary>
    public (long ExpirationMs, long CheckIntervalMs) ProducerExpiration { get; init; } = (86_400_000, 600_000);

    private async Task RunAsync(long tickMs, long checkpointIntervalMs, long retentionCheckIntervalMs)
    {
        var lastCheckpoint = _time.GetTimestamp();
        var lastHighWatermarkCheckpoint = _time.GetTimestamp();
        var lastRetention = _time.GetTimestamp();
        var lastProducerExpiration = _time.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(tickMs), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    if (_time.GetElapsedTime(lastRetention).TotalMilliseconds >= retentionCheckIntervalMs)
                    {
                        // A moved log start offset reaches its checkpoint with the next checkpoint below.
                        _logs.ApplyRetention(_time.GetUtcNow().ToUnixTimeMilliseconds());
                        lastRetention = _time.GetTimestamp();
                    }

                    if (_time.GetElapsedTime(lastProducerExpiration).TotalMilliseconds >= ProducerExpiration.CheckIntervalMs)
                    {
                        _logs.RemoveExpiredProducers(_time.GetUtcNow().ToUnixTimeMilliseconds(), ProducerExpiration.ExpirationMs);
                        lastProducerExpiration = _time.GetTimestamp();
                    }

                    _logs.FlushDue(_time.GetUtcNow().ToUnixTimeMilliseconds());
                    if (_time.GetElapsedTime(lastCheckpoint).TotalMilliseconds >= checkpointIntervalMs)
                    {
                        _logs.Checkpoint();
                        lastCheckpoint = _time.GetTimestamp();
                    }

                    if (_time.GetElapsedTime(lastHighWatermarkCheckpoint).TotalMilliseconds >= Math.Max(HighWatermarkCheckpointIntervalMs, 100))
                    {
                        _logs.CheckpointHighWatermarks();
                        lastHighWatermarkCheckpoint = _time.GetTimestamp();
                    }
                }
                catch (IOException e)
                {
                    LogMaintenanceFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Log flush or checkpoint failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception exception);
}
