using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Background timers for the logs: time-based flushes (flush.ms) and recovery-point checkpoints
/// (log.flush.offset.checkpoint.interval.ms). Thread-safe.
/// </summary>
internal sealed partial class LogMaintenance : IAsyncDisposable
{
    private readonly LogManager _logs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LogMaintenance(LogManager logs, long flushCheckIntervalMs, long checkpointIntervalMs, TimeProvider time, ILogger logger)
    {
        _logs = logs;
        _time = time;
        _logger = logger;
        _loop = RunAsync(Math.Clamp(flushCheckIntervalMs, 10, 1000), Math.Max(checkpointIntervalMs, 100));
    }

    private async Task RunAsync(long tickMs, long checkpointIntervalMs)
    {
        var lastCheckpoint = _time.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(tickMs), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    _logs.FlushDue(_time.GetUtcNow().ToUnixTimeMilliseconds());
                    if (_time.GetElapsedTime(lastCheckpoint).TotalMilliseconds >= checkpointIntervalMs)
                    {
                        _logs.Checkpoint();
                        lastCheckpoint = _time.GetTimestamp();
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
