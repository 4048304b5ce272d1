using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Operator.Api;
using Operator.Kube;

namespace Operator.Reconcilers;

/// <summary>
/// List, watch and status writes for one kafka.strimzi.io kind in one namespace or all of them, through the custom objects API
/// (read as v1, the storage version) with the CR types' System.Text.Json mapping. Stateless; thread-safe.
/// </summary>
public sealed class CustomResources<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IKubernetes _client;
    private readonly string? _namespace;
    private readonly string _plural;

    /// <param name="ns">The namespace listed and watched, or null for all namespaces.</param>
    public CustomResources(IKubernetes client, string? ns, CrdDescriptor crd)
    {
        ArgumentNullException.ThrowIfNull(crd);
        _client = client;
        _namespace = ns;
        _plural = crd.Plural;
    }

    public async Task<(IReadOnlyList<T> Items, string ResourceVersion)> ListAsync(CancellationToken cancellationToken)
    {
        var response = _namespace is null
            ? await _client.CustomObjects.ListCustomObjectForAllNamespacesAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, _plural,
                cancellationToken: cancellationToken).ConfigureAwait(false)
            : await _client.CustomObjects.ListNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, _namespace, _plural,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        var list = JsonSerializer.SerializeToNode(response)!;
        var items = list["items"]!.AsArray().Select(i => i!.Deserialize<T>(Manifests.JsonOptions)!).ToList();
        return (items, (string?)list["metadata"]?["resourceVersion"] ?? "");
    }

    public async IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(string resourceVersion, Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = _namespace is null
            ? _client.CustomObjects.WatchListCustomObjectForAllNamespacesAsync(
                StrimziGroup.Name, StrimziGroup.StorageVersion, _plural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
                onError: onError, cancellationToken: cancellationToken)
            : _client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                StrimziGroup.Name, StrimziGroup.StorageVersion, _namespace, _plural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
                onError: onError, cancellationToken: cancellationToken);
        await foreach (var (type, obj) in events.ConfigureAwait(false))
        {
            yield return (type, JsonSerializer.SerializeToNode(obj)!.Deserialize<T>(Manifests.JsonOptions)!);
        }
    }

    /// <summary>Replaces the status through the status subresource (a merge patch whose status lists replace whole).</summary>
    public Task PatchStatusAsync(string ns, string name, object status, CancellationToken cancellationToken)
    {
        // apiVersion names the version the patch is written in (the object may have been created as v1beta2).
        var body = new JsonObject
        {
            ["apiVersion"] = StrimziGroup.Name + "/" + StrimziGroup.StorageVersion,
            ["status"] = JsonSerializer.SerializeToNode(status, Manifests.JsonOptions),
        };
        return _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch),
            StrimziGroup.Name, StrimziGroup.StorageVersion, ns, _plural, name, cancellationToken: cancellationToken);
    }

    public Informer<T> Informer(InformerOptions options, TimeProvider time, Random random, Microsoft.Extensions.Logging.ILogger logger) =>
        new(ListAsync, WatchAsync, options, time, random, logger);
}
