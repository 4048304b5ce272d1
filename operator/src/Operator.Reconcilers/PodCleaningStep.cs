using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Kube;
using Operator.Model;

namespace Operator.Reconcilers;

/// <summary>
/// Strimzi's manual pod cleaning (its <c>ManualPodCleaner</c>): a node pod annotated
/// <c>strimzi.io/delete-pod-and-pvc: "true"</c> is deleted together with its persistent volume claims (those of the
/// cluster whose name ends with the pod's name), and both come back afresh: the node starts again on empty volumes, as when
/// a disk is replaced. One pod at a time.
/// <para>
/// While a clean is under way the pod is left out of its StrimziPodSet and its claims out of what the reconcile applies,
/// so neither comes back early. A clean is under way while the annotated pod still exists, or while the pod is gone or
/// terminating and one of its claims is terminating (Kubernetes keeps a claim a pod uses until the pod is gone). The claims'
/// deletion timestamps are the only state, so an operator restart picks a clean up where it was. Once the pod and its
/// claims are gone, the next reconcile applies them again and the pod-set controller recreates the pod.
/// </para>
/// Thread-safe: the controller never runs one Kafka on two workers.
/// </summary>
internal sealed partial class PodCleaningStep
{
    public const string Annotation = "strimzi.io/delete-pod-and-pvc";

    private readonly ClusterCaches _caches;
    private readonly Applier _applier;
    private readonly ILogger _logger;

    public PodCleaningStep(ClusterCaches caches, Applier applier, ILogger logger)
    {
        _caches = caches;
        _applier = applier;
        _logger = logger;
    }

    /// <summary>
    /// Finds the pod to clean, takes it and its claims out of <paramref name="desired"/> and deletes its claims; the caller
    /// applies <paramref name="desired"/> (the pod set without the pod) and then calls <see cref="DeletePodAsync"/>, the
    /// order Strimzi's cleaner follows. Deleting the pod first would let the pod-set controller, still holding the old
    /// definition, create it again before the shrunk pod set arrives. Returns the pod's name and the instance to delete
    /// (null when it is gone or terminating already), or null when no clean is under way.
    /// </summary>
    public async Task<(string Pod, V1Pod? ToDelete)?> ReconcileAsync(KafkaClusterModel model, List<IKubernetesObject<V1ObjectMeta>> desired,
        CancellationToken cancellationToken)
    {
        foreach (var (pool, nodeId) in model.Nodes)
        {
            var name = pool.PodName(model.Name, nodeId);
            var pod = _caches.Pods.TryGet(new ObjectKey(model.Namespace, name), out var cached) ? cached : null;
            var claims = Claims(model, name);
            var annotated = pod?.Metadata.Annotations?.TryGetValue(Annotation, out var value) == true
                && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
            var claimsTerminating = claims.Any(c => c.Metadata.DeletionTimestamp is not null);
            if (!annotated && !(claimsTerminating && (pod is null || pod.Metadata.DeletionTimestamp is not null)))
            {
                continue;
            }

            Exclude(desired, pool.WorkloadName(model.Name), name);
            if (!annotated)
            {
                return (name, null);
            }

            // The claims first: their deletion timestamps carry the clean on once the annotated pod is gone, and Kubernetes
            // holds each claim until no pod uses it.
            LogCleaning(_logger, model.Namespace, name, string.Join(", ", claims.Select(c => c.Metadata.Name)));
            foreach (var claim in claims.Where(c => c.Metadata.DeletionTimestamp is null))
            {
                await _applier.DeleteAsync<V1PersistentVolumeClaim>(model.Namespace, claim.Metadata.Name, cancellationToken).ConfigureAwait(false);
            }

            return (name, pod!.Metadata.DeletionTimestamp is null ? pod : null);
        }

        return null;
    }

    /// <summary>Deletes the pod being cleaned, once its pod set no longer lists it.</summary>
    public async Task DeletePodAsync((string Pod, V1Pod? ToDelete) cleaning, CancellationToken cancellationToken)
    {
        if (cleaning.ToDelete is { } pod)
        {
            await _applier.DeletePodAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name, pod.Metadata.Uid, cancellationToken).ConfigureAwait(false);
        }
    }

    private List<V1PersistentVolumeClaim> Claims(KafkaClusterModel model, string podName) =>
        [.. _caches.Owned<V1PersistentVolumeClaim>().Items().Where(c => c.Metadata.NamespaceProperty == model.Namespace
            && c.Metadata.Labels?.TryGetValue(StrimziLabels.Cluster, out var cluster) == true && cluster == model.Name
            && c.Metadata.Name.EndsWith(podName, StringComparison.Ordinal))];

    // The claims are matched by name as Claims matches the cached ones: the model builds only this cluster's claims.
    private static void Exclude(List<IKubernetesObject<V1ObjectMeta>> desired, string podSetName, string podName)
    {
        desired.RemoveAll(o => o is V1PersistentVolumeClaim claim && claim.Metadata.Name.EndsWith(podName, StringComparison.Ordinal));
        if (desired.OfType<StrimziPodSet>().FirstOrDefault(s => s.Metadata.Name == podSetName) is { Spec.Pods: { } pods })
        {
            pods.RemoveAll(p => (string?)p["metadata"]?["name"] == podName);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}/{Pod}: deleting the pod and its claims ({Claims}) as strimzi.io/delete-pod-and-pvc asks")]
    private static partial void LogCleaning(ILogger logger, string @namespace, string pod, string claims);
}
