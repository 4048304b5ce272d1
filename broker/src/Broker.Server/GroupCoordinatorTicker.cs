using Broker.Coordinators.Groups;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Drives the group coordinator's deadlines (sessions, join and sync phases, initial delay, offset expiry) by calling
/// <see cref="GroupCoordinator.Tick()"/> every 100 ms. Thread-safe.
/// </summary>
internal sealed partial class GroupCoordinatorTicker : IAsyncDisposable
{
    private readonly GroupCoordinator _groups;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public GroupCoordinatorTicker(GroupCoordinator groups, TimeProvider time, ILogger logger)
    {
        _groups = groups;
        _time = time;
        _logger = logger;
        _loop = RunAsync();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    _groups.Tick();
                }
                catch (IOException e)
                {
                    LogTickFailed(_logger, e);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Group coordinator tick failed")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
