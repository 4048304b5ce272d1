using System.Runtime.InteropServices;

namespace Kube.HostShared;

/// <summary>
/// The stand-alone test hosts' lifetime (compiled into each of them): runs until Ctrl+C or SIGTERM, either of which is
/// taken as a request to stop cleanly rather than to kill the process. Call once per process.
/// </summary>
internal static class StopSignal
{
    /// <summary>Completes when Ctrl+C or SIGTERM arrives.</summary>
    public static async Task WaitAsync()
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Asked to stop: the caller disposes what it started.
        }
    }
}
