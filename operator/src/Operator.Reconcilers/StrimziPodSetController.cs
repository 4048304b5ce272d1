using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Kube;
using Operator.Model;

namespace Operator.Reconcilers;

/// <summary>Settings of the pod-set controller. Immutable.</summary>
public sealed record StrimziPodSetControllerOptions
{
    /// <summary>How soon a pod set whose pods are missing, not Ready or terminating is looked at again.</summary>
    public TimeSpan PodWaitInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Strimzi's StrimziPodSet controller: makes exactly the pods listed in a pod set's <c>spec.pods</c> exist, owned by
/// the set. A missing pod is created from its current definition, an unowned pod of a listed name is adopted, a pod the
/// set controls but no longer lists is deleted. A pod that exists is never updated: restarting one onto a new
/// definition is the Kafka reconciler's deleting it, after which this controller creates it again. Reads only the
/// caches; status only through the status subresource, and only when it changed. Thread-safe: the controller never
/// runs one key on two workers, and this type holds no per-key state.
/// </summary>
public sealed partial class StrimziPodSetController : IReconciler
{
    /// <summary>The pod definition's hash a pod was created from (Strimzi's annotation); <c>currentPods</c> counts matches.</summary>
    public const string RevisionAnnotation = KafkaClusterModel.RevisionAnnotation;

    public const string InvalidPodReason = KafkaReconciler.InvalidResourceReason;
    public const string WaitingForPodsReason = KafkaReconciler.WaitingForPodsReason;
    public const string PodConflictReason = "PodControlledByAnotherOwner";

    private readonly ClusterCaches _caches;
    private readonly StrimziPodSetControllerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public StrimziPodSetController(ClusterCaches caches, StrimziPodSetControllerOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(caches);
        ArgumentNullException.ThrowIfNull(options);
        _caches = caches;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        // Gone, or going: its pods follow through their owner references; creating any now would only race the
        // garbage collector.
        if (!_caches.StrimziPodSets.TryGet(key, out var set) || set.Metadata.DeletionTimestamp is not null)
        {
            return ReconcileResult.Done;
        }

        var invalid = new List<string>();
        var conflicts = new List<string>();
        var waiting = new List<string>();
        var definitions = ReadDefinitions(set, invalid, out var listed);
        var retry = false;
        int ready = 0, current = 0;
        foreach (var (index, definition) in definitions)
        {
            var name = definition.Metadata.Name;
            if (!_caches.Pods.TryGet(new ObjectKey(key.Namespace, name), out var pod))
            {
                retry |= !await CreateAsync(set, definition, cancellationToken).ConfigureAwait(false);
                waiting.Add(name);
                continue;
            }

            if (pod.Metadata.DeletionTimestamp is not null)
            {
                // Being deleted (a restart): created again from the current definition once it is gone.
                waiting.Add(name);
                continue;
            }

            var controller = ControllerOf(pod);
            if (controller is null)
            {
                retry |= !await AdoptAsync(set, pod, cancellationToken).ConfigureAwait(false);
            }
            else if (controller.Uid != set.Metadata.Uid)
            {
                LogConflict(_logger, key.ToString(), name, controller.Kind, controller.Name);
                conflicts.Add($"spec.pods[{index}]: pod {name} is controlled by {controller.Kind} {controller.Name}");
                continue;
            }

            if (RollingRestartStep.IsReady(pod))
            {
                ready++;
            }
            else
            {
                waiting.Add(name);
            }

            if (Annotation(pod.Metadata, RevisionAnnotation) == Annotation(definition.Metadata, RevisionAnnotation))
            {
                current++;
            }
        }

        await DeleteUnlistedAsync(set, listed, cancellationToken).ConfigureAwait(false);

        var condition = invalid.Count > 0 ? NewCondition("False", InvalidPodReason, string.Join("; ", invalid))
            : conflicts.Count > 0 ? NewCondition("False", PodConflictReason, string.Join("; ", conflicts))
            : waiting.Count > 0 ? NewCondition("False", WaitingForPodsReason, "pods not ready: " + string.Join(", ", waiting))
            : NewCondition("True", null, null);
        var status = new StrimziPodSetStatus
        {
            Pods = set.Spec?.Pods?.Count ?? 0,
            ReadyPods = ready,
            CurrentPods = current,
            ObservedGeneration = set.Metadata.Generation,
            Conditions = KafkaReconciler.KeepTransitionTimes(set.Status?.Conditions, [condition]),
        };
        await WriteStatusIfChangedAsync(set, status, cancellationToken).ConfigureAwait(false);

        // Invalid definitions wait for a spec change (which queues the set); anything else may settle on its own.
        return retry || waiting.Count > 0 || conflicts.Count > 0 ? ReconcileResult.After(_options.PodWaitInterval) : ReconcileResult.Done;
    }

    /// <summary>
    /// The usable pod definitions with their index in spec.pods; each unusable one adds an error naming its field. Every
    /// name the spec mentions, usable or not, goes into <paramref name="listed"/>: a typo elsewhere in a definition must
    /// not delete its running pod.
    /// </summary>
    private static List<(int Index, V1Pod Pod)> ReadDefinitions(StrimziPodSet set, List<string> invalid, out HashSet<string> listed)
    {
        listed = new HashSet<string>(StringComparer.Ordinal);
        var usable = new List<(int, V1Pod)>();
        var pods = set.Spec?.Pods ?? [];
        var selector = set.Spec?.Selector?.MatchLabels ?? [];
        for (var i = 0; i < pods.Count; i++)
        {
            var path = $"spec.pods[{i}]";
            var rawName = pods[i]?["metadata"] is JsonObject meta && meta["name"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            if (!string.IsNullOrEmpty(rawName) && !listed.Add(rawName))
            {
                invalid.Add($"{path}.metadata.name: duplicate pod name {rawName}");
                continue;
            }

            V1Pod? pod;
            try
            {
                pod = pods[i] is null ? null : KubernetesJson.Deserialize<V1Pod>(pods[i].ToJsonString());
            }
            catch (JsonException e)
            {
                invalid.Add($"{path}: not a Pod ({e.Message})");
                continue;
            }

            if (pod is null)
            {
                invalid.Add($"{path}: not a Pod (null)");
            }
            else if (string.IsNullOrEmpty(pod.Metadata?.Name))
            {
                invalid.Add($"{path}.metadata.name: required");
            }
            else if (selector.Any(l => !(pod.Metadata.Labels is { } labels && labels.TryGetValue(l.Key, out var value) && value == l.Value)))
            {
                invalid.Add($"{path}.metadata.labels: do not match spec.selector.matchLabels");
            }
            else
            {
                usable.Add((i, pod));
            }
        }

        return usable;
    }

    /// <summary>Creates a pod from its definition, owned by the set; false when the create raced another (409, look again).</summary>
    private async Task<bool> CreateAsync(StrimziPodSet set, V1Pod definition, CancellationToken cancellationToken)
    {
        // Deserialized per reconcile, so changing it here leaves nothing behind.
        var metadata = definition.Metadata;
        metadata.NamespaceProperty = set.Metadata.NamespaceProperty;
        metadata.ResourceVersion = null;
        metadata.Uid = null;
        metadata.OwnerReferences = [.. (metadata.OwnerReferences ?? []).Where(r => r.Controller != true), OwnerReference(set)];
        try
        {
            await _caches.Client.CoreV1.CreateNamespacedPodAsync(definition, set.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            LogCreated(_logger, ObjectKey.Of(set).ToString(), metadata.Name);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // The cache has not seen it yet (ours, just created), or it is terminating: the next look decides.
            return false;
        }
    }

    /// <summary>
    /// Adds the set as controller of an unowned pod, conditional on the resourceVersion the cache saw so that a pod
    /// another controller claimed meanwhile is never taken; false when that condition failed.
    /// </summary>
    private async Task<bool> AdoptAsync(StrimziPodSet set, V1Pod pod, CancellationToken cancellationToken)
    {
        var patch = new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                ResourceVersion = pod.Metadata.ResourceVersion,
                OwnerReferences = [.. pod.Metadata.OwnerReferences ?? [], OwnerReference(set)],
            },
        };
        try
        {
            await _caches.Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch),
                pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            LogAdopted(_logger, ObjectKey.Of(set).ToString(), pod.Metadata.Name);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Deletes the pods this set controls whose names spec.pods no longer lists (by uid, so a newer pod of that name survives).</summary>
    private async Task DeleteUnlistedAsync(StrimziPodSet set, HashSet<string> listed, CancellationToken cancellationToken)
    {
        var ns = set.Metadata.NamespaceProperty;
        var unlisted = _caches.Pods.Items().Where(p => p.Metadata.NamespaceProperty == ns && p.Metadata.DeletionTimestamp is null
            && ControllerOf(p)?.Uid == set.Metadata.Uid && !listed.Contains(p.Metadata.Name));
        foreach (var pod in unlisted)
        {
            try
            {
                await _caches.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, ns,
                    new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } }, cancellationToken: cancellationToken).ConfigureAwait(false);
                LogDeleted(_logger, ObjectKey.Of(set).ToString(), pod.Metadata.Name);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
                // Already gone, or replaced by a pod of another uid: nothing of ours to delete.
            }
        }
    }

    private async Task WriteStatusIfChangedAsync(StrimziPodSet set, StrimziPodSetStatus desired, CancellationToken cancellationToken)
    {
        if (JsonNode.DeepEquals(JsonSerializer.SerializeToNode(set.Status, Manifests.JsonOptions), JsonSerializer.SerializeToNode(desired, Manifests.JsonOptions)))
        {
            return;
        }

        try
        {
            await _caches.PodSetResources.PatchStatusAsync(set.Metadata.NamespaceProperty, set.Metadata.Name, desired, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Deleted while this reconcile ran; its deletion event finds it gone.
        }
    }

    /// <summary>The owner reference that makes the set a pod's controller (and lets the garbage collector delete the pod with it).</summary>
    public static V1OwnerReference OwnerReference(StrimziPodSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return new V1OwnerReference
        {
            ApiVersion = CoreStrimziGroup.Name + "/" + CoreStrimziGroup.StorageVersion,
            Kind = "StrimziPodSet",
            Name = set.Metadata.Name,
            Uid = set.Metadata.Uid,
            Controller = true,
            BlockOwnerDeletion = true,
        };
    }

    /// <summary>The owner reference marked controller, if any (at most one, as the API server enforces).</summary>
    public static V1OwnerReference? ControllerOf(V1Pod pod) => pod?.Metadata?.OwnerReferences?.FirstOrDefault(r => r.Controller == true);

    private static string? Annotation(V1ObjectMeta? metadata, string name) =>
        metadata?.Annotations is { } annotations && annotations.TryGetValue(name, out var value) ? value : null;

    private Condition NewCondition(string status, string? reason, string? message) => new()
    {
        Type = ConditionTypes.Ready,
        Status = status,
        LastTransitionTime = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        Reason = reason,
        Message = message,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "StrimziPodSet {Key}: created pod {Pod}")]
    private static partial void LogCreated(ILogger logger, string key, string pod);

    [LoggerMessage(Level = LogLevel.Information, Message = "StrimziPodSet {Key}: adopted pod {Pod}")]
    private static partial void LogAdopted(ILogger logger, string key, string pod);

    [LoggerMessage(Level = LogLevel.Information, Message = "StrimziPodSet {Key}: deleted pod {Pod}, no longer listed")]
    private static partial void LogDeleted(ILogger logger, string key, string pod);

    [LoggerMessage(Level = LogLevel.Warning, Message = "StrimziPodSet {Key}: pod {Pod} is controlled by {Kind} {Owner}; left alone")]
    private static partial void LogConflict(ILogger logger, string key, string pod, string kind, string owner);
}
