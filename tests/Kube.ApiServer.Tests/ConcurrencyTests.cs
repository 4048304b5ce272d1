using System.Globalization;
using k8s;
using k8s.Models;

namespace Kube.ApiServer.Tests;

/// <summary>Many concurrent writers; one watcher must see every write, in resourceVersion order.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task ConcurrentWriters_WatcherSeesEveryEventInResourceVersionOrder()
    {
        const int writers = 4;
        const int writesEach = 25;
        await using var server = await KubeApiServer.StartAsync();
        using var watchClient = server.CreateClient();
        var start = server.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<(WatchEventType Type, long Rv)>();
        var watch = Task.Run(async () =>
        {
            await foreach (var (type, item) in watchClient.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: start, cancellationToken: cts.Token))
            {
                seen.Add((type, long.Parse(item.Metadata.ResourceVersion, CultureInfo.InvariantCulture)));
                if (seen.Count == writers * writesEach)
                {
                    return;
                }
            }
        });

        var written = new System.Collections.Concurrent.ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            using var client = server.CreateClient();
            var cm = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"w{w}" }, Data = new Dictionary<string, string>() }, "default");
            written.Add(long.Parse(cm.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
            for (var i = 1; i < writesEach; i++)
            {
                cm.Data["i"] = i.ToString(CultureInfo.InvariantCulture);
                cm = await client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, cm.Metadata.Name, "default");
                written.Add(long.Parse(cm.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
            }
        })));
        await watch.WaitAsync(cts.Token);

        var rvs = seen.Select(s => s.Rv).ToList();
        Assert.Equal(writers * writesEach, rvs.Count);
        Assert.Equal(rvs.Order(), rvs);
        Assert.Equal(written.Order(), rvs);
        Assert.Equal(writers, seen.Count(s => s.Type == WatchEventType.Added));
    }
}
