using System.Runtime.InteropServices;

namespace Broker.Cli;

/// <summary>
/// Turns the first SIGINT (Ctrl-C) or SIGTERM into a cancellation and suppresses the default termination,
/// so the running command can stop gracefully; a second signal is left to terminate the process.
/// Thread-safe (signals arrive on a runtime thread).
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _registrations = [];

    private ShutdownSignal()
    {
    }

    public CancellationToken Token => _cts.Token;

    public static ShutdownSignal Register()
    {
        var signal = new ShutdownSignal();
        signal._registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, signal.OnSignal));
        signal._registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal.OnSignal));
        return signal;
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cts.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_cts.IsCancellationRequested)
        {
            return;
        }

        context.Cancel = true;
        _cts.Cancel();
    }
}
