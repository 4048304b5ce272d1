using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Microsoft.Extensions.Logging.Abstractions;

namespace Operator.Kube.Tests;

/// <summary>The controller loop: informer events to keys, workers, retries with backoff, RequeueAfter.</summary>
public sealed class ControllerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private sealed class RecordingReconciler(Func<ObjectKey, int, ReconcileResult> behaviour) : IReconciler
    {
        private int _concurrent;

        public ConcurrentDictionary<ObjectKey, int> Calls { get; } = new();

        public int MaxConcurrentPerKey { get; private set; }

        public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
        {
            var call = Calls.AddOrUpdate(key, 1, (_, n) => n + 1);
            var now = Interlocked.Increment(ref _concurrent);
            MaxConcurrentPerKey = Math.Max(MaxConcurrentPerKey, now);
            await Task.Delay(5, cancellationToken);
            Interlocked.Decrement(ref _concurrent);
            return behaviour(key, call);
        }
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Run_InformerEvents_EachKeyReconciledAndFailuresRetriedWithBackoff()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var informer = new Informer<V1ConfigMap>(
            async ct =>
            {
                var list = await client.CoreV1.ListNamespacedConfigMapAsync("default", cancellationToken: ct);
                return (list.Items.ToList(), list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: rv, allowWatchBookmarks: true, onError: onError, cancellationToken: ct),
            new InformerOptions { ResyncPeriod = TimeSpan.Zero },
            TimeProvider.System,
            new Random(1),
            NullLogger.Instance);

        // "flaky" fails twice before converging; the others converge at once.
        var reconciler = new RecordingReconciler((key, call) => key.Name == "flaky" && call <= 2 ? throw new InvalidOperationException("not yet") : ReconcileResult.Done);
        using var controller = new Controller("test", reconciler, new WorkQueue<ObjectKey>(TimeProvider.System, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1)), 2, NullLogger.Instance);
        informer.Changed += controller.Enqueue;
        using var stop = new CancellationTokenSource();
        var runs = Task.WhenAll(informer.RunAsync(stop.Token), controller.RunAsync(stop.Token));

        foreach (var name in new[] { "a", "b", "flaky" })
        {
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name } }, "default");
        }

        await EventuallyAsync(() => reconciler.Calls.GetValueOrDefault(new ObjectKey("default", "flaky")) == 3, "flaky to converge on its third reconcile");
        Assert.True(reconciler.Calls[new ObjectKey("default", "a")] >= 1);
        Assert.True(reconciler.Calls[new ObjectKey("default", "b")] >= 1);
        Assert.Equal(2, controller.Counts.Failures);

        await stop.CancelAsync();
        await runs.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Run_BurstOfAddsForOneKey_NeverReconciledConcurrently()
    {
        var reconciler = new RecordingReconciler((_, _) => ReconcileResult.Done);
        using var controller = new Controller("test", reconciler, new WorkQueue<ObjectKey>(TimeProvider.System, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1)), 4, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);
        var key = new ObjectKey("default", "hot");

        for (var i = 0; i < 200; i++)
        {
            controller.Enqueue(key);
            if (i % 20 == 0)
            {
                await Task.Delay(3);
            }
        }

        await EventuallyAsync(() => reconciler.Calls.ContainsKey(key), "the key to be reconciled");
        await Task.Delay(100);
        Assert.Equal(1, reconciler.MaxConcurrentPerKey);
        Assert.True(reconciler.Calls[key] < 200, "adds while queued must collapse");

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Run_RequeueAfter_ReconcilesAgainAfterTheDelay()
    {
        var reconciler = new RecordingReconciler((_, call) => call < 3 ? ReconcileResult.After(TimeSpan.FromMilliseconds(50)) : ReconcileResult.Done);
        using var controller = new Controller("test", reconciler, new WorkQueue<ObjectKey>(TimeProvider.System, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1)), 1, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);
        var key = new ObjectKey("default", "waiting-for-pods");

        controller.Enqueue(key);

        await EventuallyAsync(() => reconciler.Calls.GetValueOrDefault(key) == 3, "three reconciles");
        await Task.Delay(150);
        Assert.Equal(3, reconciler.Calls[key]);
        Assert.Equal(0, controller.Counts.Failures);

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }
}
