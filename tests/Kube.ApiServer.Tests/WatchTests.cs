using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Kube.ApiServer.Tests;

/// <summary>Watch streams: resumption, 410 Gone, bookmarks, ordering.</summary>
public sealed class WatchTests
{
    [Fact]
    public async Task Watch_ResumeFromResourceVersion_DeliversEveryLaterEventInOrder()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var cm = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "w" }, Data = new Dictionary<string, string> { ["n"] = "0" } }, "default");
        var from = cm.Metadata.ResourceVersion;
        for (var i = 1; i <= 3; i++)
        {
            cm.Data["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            cm = await client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "w", "default");
        }
        await client.CoreV1.DeleteNamespacedConfigMapAsync("w", "default");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var seen = new List<(WatchEventType, string, string)>();
        await foreach (var (type, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: from, cancellationToken: cts.Token))
        {
            seen.Add((type, item.Data?["n"] ?? "", item.Metadata.ResourceVersion));
            if (type == WatchEventType.Deleted)
            {
                break;
            }
        }

        Assert.Equal([WatchEventType.Modified, WatchEventType.Modified, WatchEventType.Modified, WatchEventType.Deleted], seen.Select(s => s.Item1));
        Assert.Equal(["1", "2", "3", "3"], seen.Select(s => s.Item2));
        var rvs = seen.Select(s => long.Parse(s.Item3)).ToList();
        Assert.Equal(rvs.Order(), rvs);
        Assert.Equal(rvs.Count, rvs.Distinct().Count());
    }

    [Fact]
    public async Task Watch_CompactedResourceVersion_GetsErrorEventWith410Expired()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        var cm = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "old" } }, "default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "newer" } }, "default");
        server.CompactHistory();

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var errors = new List<Exception>();
        var events = 0;
        await foreach (var _ in client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: cm.Metadata.ResourceVersion, onError: errors.Add, cancellationToken: cts.Token))
        {
            events++;
        }

        Assert.Equal(0, events);
        var error = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, error.Status.Code);
        Assert.Equal("Expired", error.Status.Reason);
        Assert.StartsWith($"too old resource version: {cm.Metadata.ResourceVersion} (", error.Status.Message);
    }

    [Fact]
    public async Task Watch_AllowBookmarks_SendsBookmarkWithCurrentResourceVersion()
    {
        await using var server = await KubeApiServer.StartAsync(new KubeApiServerOptions { BookmarkInterval = TimeSpan.FromMilliseconds(100) });
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b" } }, "default");
        var list = await client.CoreV1.ListNamespacedConfigMapAsync("default");
        // A write elsewhere moves the global resourceVersion: the bookmark must report it.
        await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" } }, "default");
        var expected = server.CurrentResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var raw = new Raw(server);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await raw.StreamAsync($"/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion={list.Metadata.ResourceVersion}", cts.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var line = JsonNode.Parse((await reader.ReadLineAsync(cts.Token))!)!;

        Assert.Equal("BOOKMARK", line["type"]!.GetValue<string>());
        Assert.Equal("ConfigMap", line["object"]!["kind"]!.GetValue<string>());
        Assert.Equal(expected, line["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task Watch_WithoutResourceVersion_StartsWithAddedForExistingObjectsThenLabelFiltered()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x", Labels = new Dictionary<string, string> { ["w"] = "yes" } } }, "default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "y" } }, "default");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var names = new List<string>();
        await foreach (var (type, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("default", labelSelector: "w=yes", cancellationToken: cts.Token))
        {
            Assert.Equal(WatchEventType.Added, type);
            names.Add(item.Metadata.Name);
            if (names.Count == 1)
            {
                await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "z" } }, "default");
                await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x2", Labels = new Dictionary<string, string> { ["w"] = "yes" } } }, "default");
            }
            else
            {
                break;
            }
        }

        Assert.Equal(["x", "x2"], names);
    }
}
