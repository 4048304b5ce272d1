using Kube.ApiServer.Api;

namespace Kube.ApiServer.Controllers;

/// <summary>
/// Feeds every committed event, in order, to the fixture's controllers (garbage collector, namespace
/// cleanup, StatefulSet). Thread-safe: one background task owns the controllers.
/// </summary>
internal sealed class ControllerLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public ControllerLoop(ResourceService service)
    {
        var gc = new GarbageCollector(service);
        var sts = new StatefulSetController(service);
        var sub = service.Store.Subscribe(null, service.Store.CurrentResourceVersion, out _)!;
        _run = Task.Run(async () =>
        {
            using (sub)
            {
                try
                {
                    await foreach (var e in sub.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                    {
                        try
                        {
                            gc.OnEvent(e);
                            sts.OnEvent(e);
                        }
                        catch (Http.ApiError)
                        {
                            // A controller lost a race with a client (conflict, not found): the next event retries.
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        _stop.Dispose();
    }
}
