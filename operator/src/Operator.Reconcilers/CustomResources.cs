using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Operator.Api;
using Operator.Kube;

namespace Operator.Reconcilers;

/// <summary>
/// List, watch and status writes for one Strimzi kind (kafka.strimzi.io or core.strimzi.io) in one namespace or all of them, through the custom objects API
/// (read as v1, the storage version) with the CR types' System.Text.Json mapping. Stateless; thread-safe.
/// </summary>
public sealed class CustomResources<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IKubernetes _client;
    private readonly string? _namespace;
    private readonly string _plural;
    private readonly string _group;
    private readonly string _version;

    /// <param name="ns">The namespace listed and watched, or null for all namespaces.</param>
    public CustomResources(IKubernetes client, string? ns, CrdDescriptor crd)
    {
        ArgumentNullException.ThrowIfNull(crd);
        _client = client;
        _namespace = ns;
        _plural = crd.Plural;
        _group = crd.Group;
        _version = crd.StorageVersion;
    }

    public async Task<(IReadOnlyList<T> Items, string ResourceVersion)> ListAsync(CancellationToken cancellationToken)
    {
        var response = _namespace is null
            ? await _client.CustomObjects.ListCustomObjectForAllNamespacesAsync(_group, _version, _plural,
                cancellationToken: cancellationToken).ConfigureAwait(false)
            : await _client.CustomObjects.ListNamespacedCustomObjectAsync(_group, _version, _namespace, _plural,
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
                _group, _version, _plural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
                onError: onError, cancellationToken: cancellationToken)
            : _client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                _group, _version, _namespace, _plural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
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
            ["apiVersion"] = _group + "/" + _version,
            ["status"] = JsonSerializer.SerializeToNode(status, Manifests.JsonOptions),
        };
        return _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch),
            _group, _version, ns, _plural, name, cancellationToken: cancellationToken);
    }

    public Informer<T> Informer(InformerOptions options, TimeProvider time, Random random, Microsoft.Extensions.Logging.ILogger logger) =>
        new(ListAsync, WatchAsync, options, time, random, logger);
}
