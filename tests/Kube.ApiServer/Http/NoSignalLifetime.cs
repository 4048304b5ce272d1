using Microsoft.Extensions.Hosting;

namespace Kube.ApiServer.Http;

/// <summary>
/// A host lifetime that ignores process signals: the fixture lives inside a test process (or the
/// standalone host), which decides when to stop it. Stateless; thread-safe.
/// </summary>
internal sealed class NoSignalLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
