using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Runs a broker housekeeping step at a fixed interval until disposed: the group coordinator's deadlines (every
/// 100 ms) and the ISR expiration check (every replica.lag.time.max.ms / 2, as Kafka's isr-expiration task). A step
/// that fails with an I/O error is logged and tried again at the next tick. Thread-safe.
/// </summary>
internal sealed partial class PeriodicTicker : IAsyncDisposable
{
    private readonly string _name;
    private readonly Action _tick;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public PeriodicTicker(string name, TimeSpan interval, Action tick, TimeProvider time, ILogger logger)
    {
        _name = name;
        _interval = interval;
        _tick = tick;
        _time = time;
        _logger = logger;
        _loop = RunAsync();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    _tick();
                }
                catch (IOException e)
                {
                    LogTickFailed(_logger, _name, e);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Periodic task {Name} failed")]
    private static partial void LogTickFailed(ILogger logger, string name, Exception exception);
}
