using System.Reflection;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Operator.Kube;

/// <summary>What <see cref="Applier.ApplyAsync{T}"/> did.</summary>
public enum ApplyOutcome
{
    /// <summary>The current object already has every field the desired one sets: no request was sent.</summary>
    Unchanged,

    /// <summary>A server-side apply was sent (creating or updating the object).</summary>
    Applied,
}

/// <summary>
/// The one way the operator writes objects: server-side apply with a fixed field manager and force, so the operator
/// owns exactly the fields it sets and keeps them, while fields others set survive. A desired object whose every field
/// already holds in the current object (from the informer cache) is not sent at all, so reconciling twice in a row
/// writes nothing. Thread-safe.
/// </summary>
public sealed partial class Applier
{
    private delegate Task ApplyFunc(IKubernetes client, V1Patch patch, string name, string ns, string manager, CancellationToken ct);

    private delegate Task DeleteFunc(IKubernetes client, string name, string ns, CancellationToken ct);

    private static readonly Dictionary<Type, (ApplyFunc Apply, DeleteFunc Delete)> Kinds = new()
    {
        [typeof(V1ConfigMap)] = (
            (c, p, n, ns, m, ct) => c.CoreV1.PatchNamespacedConfigMapAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.CoreV1.DeleteNamespacedConfigMapAsync(n, ns, cancellationToken: ct)),
        [typeof(V1Secret)] = (
            (c, p, n, ns, m, ct) => c.CoreV1.PatchNamespacedSecretAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.CoreV1.DeleteNamespacedSecretAsync(n, ns, cancellationToken: ct)),
        [typeof(V1Service)] = (
            (c, p, n, ns, m, ct) => c.CoreV1.PatchNamespacedServiceAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.CoreV1.DeleteNamespacedServiceAsync(n, ns, cancellationToken: ct)),
        [typeof(V1ServiceAccount)] = (
            (c, p, n, ns, m, ct) => c.CoreV1.PatchNamespacedServiceAccountAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.CoreV1.DeleteNamespacedServiceAccountAsync(n, ns, cancellationToken: ct)),
        [typeof(V1PersistentVolumeClaim)] = (
            (c, p, n, ns, m, ct) => c.CoreV1.PatchNamespacedPersistentVolumeClaimAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(n, ns, cancellationToken: ct)),
        [typeof(V1StatefulSet)] = (
            (c, p, n, ns, m, ct) => c.AppsV1.PatchNamespacedStatefulSetAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.AppsV1.DeleteNamespacedStatefulSetAsync(n, ns, cancellationToken: ct)),
        [typeof(V1Deployment)] = (
            (c, p, n, ns, m, ct) => c.AppsV1.PatchNamespacedDeploymentAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.AppsV1.DeleteNamespacedDeploymentAsync(n, ns, cancellationToken: ct)),
        [typeof(V1PodDisruptionBudget)] = (
            (c, p, n, ns, m, ct) => c.PolicyV1.PatchNamespacedPodDisruptionBudgetAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.PolicyV1.DeleteNamespacedPodDisruptionBudgetAsync(n, ns, cancellationToken: ct)),
        [typeof(V1NetworkPolicy)] = (
            (c, p, n, ns, m, ct) => c.NetworkingV1.PatchNamespacedNetworkPolicyAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.NetworkingV1.DeleteNamespacedNetworkPolicyAsync(n, ns, cancellationToken: ct)),
        [typeof(V1Ingress)] = (
            (c, p, n, ns, m, ct) => c.NetworkingV1.PatchNamespacedIngressAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.NetworkingV1.DeleteNamespacedIngressAsync(n, ns, cancellationToken: ct)),
        [typeof(V1Role)] = (
            (c, p, n, ns, m, ct) => c.RbacAuthorizationV1.PatchNamespacedRoleAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.RbacAuthorizationV1.DeleteNamespacedRoleAsync(n, ns, cancellationToken: ct)),
        [typeof(V1RoleBinding)] = (
            (c, p, n, ns, m, ct) => c.RbacAuthorizationV1.PatchNamespacedRoleBindingAsync(p, n, ns, fieldManager: m, force: true, cancellationToken: ct),
            (c, n, ns, ct) => c.RbacAuthorizationV1.DeleteNamespacedRoleBindingAsync(n, ns, cancellationToken: ct)),
    };

    private readonly IKubernetes _client;
    private readonly string _fieldManager;
    private readonly ILogger _logger;
    private long _writes;

    public Applier(IKubernetes client, string fieldManager, ILogger logger)
    {
        _client = client;
        _fieldManager = fieldManager;
        _logger = logger;
    }

    /// <summary>Requests sent so far (applies and deletes); for tests and metrics.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Built-in kinds this applier can write (custom resource types with a KubernetesEntity attribute too).</summary>
    public static IReadOnlyCollection<Type> SupportedKinds => Kinds.Keys;

    /// <summary>
    /// Applies <paramref name="desired"/> unless <paramref name="current"/> (the cached object, or null when absent)
    /// already holds every field it sets.
    /// </summary>
    public async Task<ApplyOutcome> ApplyAsync<T>(T desired, T? current, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(desired);
        var (apply, _) = KindOf(typeof(T));
        var desiredJson = JsonNode.Parse(KubernetesJson.Serialize(desired))!.AsObject();

        // Items of a list carry no apiVersion/kind, so those are not compared; an apply body must carry them.
        desiredJson.Remove("apiVersion");
        desiredJson.Remove("kind");
        if (current is not null && JsonSubset.Holds(desiredJson, JsonNode.Parse(KubernetesJson.Serialize(current))))
        {
            return ApplyOutcome.Unchanged;
        }

        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new NotSupportedException($"{typeof(T).Name} has no KubernetesEntity attribute.");
        desiredJson.Insert(0, "apiVersion", entity.Group.Length == 0 ? entity.ApiVersion : entity.Group + "/" + entity.ApiVersion);
        desiredJson.Insert(1, "kind", entity.Kind);

        var name = desired.Metadata.Name;
        var ns = desired.Metadata.NamespaceProperty ?? "";
        await apply(_client, new V1Patch(desiredJson.ToJsonString(), V1Patch.PatchType.ApplyPatch), name, ns, _fieldManager, cancellationToken)
            .ConfigureAwait(false);
        Interlocked.Increment(ref _writes);
        LogApplied(_logger, desired.Kind ?? typeof(T).Name, ns, name);
        return ApplyOutcome.Applied;
    }

    /// <summary>Deletes an object the desired state no longer has; an already absent object is fine.</summary>
    public async Task DeleteAsync<T>(string ns, string name, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var (_, delete) = KindOf(typeof(T));
        try
        {
            await delete(_client, name, ns, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _writes);
            LogDeleted(_logger, typeof(T).Name, ns, name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // Gone already: the desired state holds.
        }
    }

    /// <summary>
    /// Sets or (null value) removes annotations with a JSON merge patch: for annotations other managers set that the
    /// operator acts on and then clears, such as <c>strimzi.io/manual-rolling-update</c> or <c>strimzi.io/force-renew</c>,
    /// which a server-side apply could not remove because the operator does not own them.
    /// </summary>
    public async Task PatchAnnotationsAsync<T>(string ns, string name, IReadOnlyDictionary<string, string?> annotations, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(annotations);
        var values = new JsonObject();
        foreach (var (key, value) in annotations)
        {
            values[key] = value;
        }

        var patch = new V1Patch(new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = values } }.ToJsonString(), V1Patch.PatchType.MergePatch);
        Task request = typeof(T) switch
        {
            var t when t == typeof(V1Pod) => _client.CoreV1.PatchNamespacedPodAsync(patch, name, ns, fieldManager: _fieldManager, cancellationToken: cancellationToken),
            var t when t == typeof(V1Secret) => _client.CoreV1.PatchNamespacedSecretAsync(patch, name, ns, fieldManager: _fieldManager, cancellationToken: cancellationToken),
            var t when CustomKind(t) is { } custom => _client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, custom.Group, custom.ApiVersion, ns,
                custom.PluralName, name, fieldManager: _fieldManager, cancellationToken: cancellationToken),
            _ => throw new NotSupportedException($"The applier does not patch annotations of {typeof(T).Name}."),
        };
        await request.ConfigureAwait(false);
        Interlocked.Increment(ref _writes);
        LogAnnotated(_logger, typeof(T).Name, ns, name);
    }

    /// <summary>
    /// Deletes one pod (a restart: its StrimziPodSet creates it again), only if it is still the instance
    /// <paramref name="uid"/>: a replacement created meanwhile under the same name is never deleted by a stale decision.
    /// Returns false when that instance is gone already.
    /// </summary>
    public async Task<bool> DeletePodAsync(string ns, string name, string uid, CancellationToken cancellationToken)
    {
        try
        {
            await _client.CoreV1.DeleteNamespacedPodAsync(name, ns, new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _writes);
            LogDeleted(_logger, nameof(V1Pod), ns, name);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    /// <summary>
    /// A built-in kind from the table, or a custom resource type whose <see cref="KubernetesEntityAttribute"/> names its
    /// group, version and plural (written through the custom objects API).
    /// </summary>
    private static (ApplyFunc Apply, DeleteFunc Delete) KindOf(Type type)
    {
        if (Kinds.TryGetValue(type, out var kind))
        {
            return kind;
        }

        if (CustomKind(type) is { } custom)
        {
            return (
                (c, p, n, ns, m, ct) => c.CustomObjects.PatchNamespacedCustomObjectAsync(p, custom.Group, custom.ApiVersion, ns, custom.PluralName, n,
                    fieldManager: m, force: true, cancellationToken: ct),
                (c, n, ns, ct) => c.CustomObjects.DeleteNamespacedCustomObjectAsync(custom.Group, custom.ApiVersion, ns, custom.PluralName, n,
                    cancellationToken: ct));
        }

        throw new NotSupportedException($"The applier does not know how to write {type.Name}.");
    }

    private static KubernetesEntityAttribute? CustomKind(Type type) =>
        type.GetCustomAttribute<KubernetesEntityAttribute>() is { Group.Length: > 0, PluralName.Length: > 0 } entity && !Kinds.ContainsKey(type) ? entity : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Applied {Kind} {Namespace}/{Name}")]
    private static partial void LogApplied(ILogger logger, string kind, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Patched annotations of {Kind} {Namespace}/{Name}")]
    private static partial void LogAnnotated(ILogger logger, string kind, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted {Kind} {Namespace}/{Name}")]
    private static partial void LogDeleted(ILogger logger, string kind, string @namespace, string name);
}

/// <summary>
/// Whether a current object already satisfies a desired one: every field the desired JSON sets has the same value in
/// the current JSON (objects recursively; lists element by element with equal lengths, so a server default added to an
/// element does not count as a difference). Stateless; thread-safe.
/// </summary>
public static class JsonSubset
{
    public static bool Holds(JsonNode? desired, JsonNode? current) => (desired, current) switch
    {
        (null, _) => true,
        (JsonObject d, JsonObject c) => d.All(kv => c.TryGetPropertyValue(kv.Key, out var value) ? Holds(kv.Value, value) : kv.Value is null),
        (JsonArray d, JsonArray c) => d.Count == c.Count && d.Select((item, i) => Holds(item, c[i])).All(ok => ok),
        (JsonValue d, JsonValue c) => JsonNode.DeepEquals(d, c),
        _ => false,
    };
}
