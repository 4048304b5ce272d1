using k8s;
using k8s.Models;
using Kube.ApiServer;
using Microsoft.Extensions.Logging.Abstractions;

namespace Operator.Kube.Tests;

/// <summary>The informer against the in-process API server: list, watch, resume, 410 re-list, resync.</summary>
public sealed class InformerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static Informer<V1ConfigMap> ConfigMaps(Kubernetes client, InformerOptions? options = null, bool bookmarks = true) => new(
        async ct =>
        {
            var list = await client.CoreV1.ListNamespacedConfigMapAsync("default", cancellationToken: ct);
            return (list.Items.ToList(), list.Metadata.ResourceVersion);
        },
        (rv, onError, ct) => client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: rv, allowWatchBookmarks: bookmarks,
            onError: onError, cancellationToken: ct),
        options ?? new InformerOptions { ResyncPeriod = TimeSpan.Zero, InitialBackoff = TimeSpan.FromMilliseconds(20) },
        TimeProvider.System,
        new Random(7),
        NullLogger.Instance);

    private static V1ConfigMap ConfigMap(string name, string value) =>
        new() { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["v"] = value } };

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
    public async Task Run_ExistingAndLaterObjects_CacheFollowsCreatesUpdatesAndDeletes()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("before", "1"), "default");
        var informer = ConfigMaps(client);
        var changed = new System.Collections.Concurrent.ConcurrentQueue<ObjectKey>();
        informer.Changed += changed.Enqueue;
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await informer.Synced.WaitAsync(Timeout);
        Assert.True(informer.TryGet(new ObjectKey("default", "before"), out var before));
        Assert.Equal("1", before.Data["v"]);

        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("after", "a"), "default");
        var updated = ConfigMap("before", "2");
        await client.CoreV1.ReplaceNamespacedConfigMapAsync(updated, "before", "default");
        await client.CoreV1.DeleteNamespacedConfigMapAsync("after", "default");

        await EventuallyAsync(() => informer.TryGet(new ObjectKey("default", "before"), out var b) && b.Data["v"] == "2" && !informer.TryGet(new ObjectKey("default", "after"), out _), "the cache to follow");
        Assert.Contains(new ObjectKey("default", "after"), changed);
        Assert.Equal(1, informer.Lists);

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Run_ServerEndsWatch_ResumesFromLastResourceVersionWithoutRelisting()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var informer = ConfigMaps(client);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.Synced.WaitAsync(Timeout);

        server.DisconnectWatches();
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("while-away", "x"), "default");

        await EventuallyAsync(() => informer.TryGet(new ObjectKey("default", "while-away"), out _), "the object written around the reconnect");
        Assert.Equal(1, informer.Lists);

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Run_ResumeResourceVersionCompacted_RelistsOn410AndStaysConsistent()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("doomed", "x"), "default");

        // Without bookmarks: with them the server's last bookmark before closing the stream would carry a current
        // resourceVersion, and the resume would (rightly) succeed.
        var informer = ConfigMaps(client, bookmarks: false);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.Synced.WaitAsync(Timeout);

        // The informer's resourceVersion falls behind the compacted history: a write to another kind moves the
        // global resourceVersion, the history is forgotten, and its watch is cut, so resuming gets 410 Gone.
        await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "elsewhere" } }, "default");
        server.CompactHistory();
        server.DisconnectWatches();
        await EventuallyAsync(() => informer.Lists == 2, "a second list after 410");

        await client.CoreV1.DeleteNamespacedConfigMapAsync("doomed", "default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("later", "y"), "default");
        await EventuallyAsync(() => informer.TryGet(new ObjectKey("default", "later"), out _) && !informer.TryGet(new ObjectKey("default", "doomed"), out _), "the watch after the re-list");

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Run_ResyncPeriod_ReportsEveryCachedObjectAgain()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("steady", "x"), "default");
        var informer = ConfigMaps(client, new InformerOptions { ResyncPeriod = TimeSpan.FromMilliseconds(100) });
        var reports = 0;
        informer.Changed += key =>
        {
            if (key.Name == "steady")
            {
                Interlocked.Increment(ref reports);
            }
        };
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await EventuallyAsync(() => Volatile.Read(ref reports) >= 3, "the list report plus two resyncs");

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }
}
