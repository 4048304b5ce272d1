using System.Collections.Concurrent;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Kube;
using Operator.Model;

namespace Operator.Reconcilers;

/// <summary>What the rolling step found and did this reconcile. Immutable.</summary>
/// <param name="Stale">Pods still to restart (including one restarted now), in restart order.</param>
/// <param name="Restarted">The pod deleted this reconcile, or null.</param>
internal sealed record RollResult(IReadOnlyList<string> Stale, string? Restarted)
{
    public bool Pending => Stale.Count > 0;
}

/// <summary>
/// Rolling restarts with Strimzi's semantics over StrimziPodSets: a pod whose <c>strimzi.io/revision</c> differs from
/// its desired pod's, or that carries <c>strimzi.io/manual-rolling-update: "true"</c> (itself, or its StrimziPodSet at
/// the time), is restarted by deleting it; the pod-set controller creates it again from its current definition. One pod per reconcile, and a Ready pod only while every
/// other pod of the cluster is present and Ready, so at most one node is down because of a restart; a stale pod that is
/// not Ready is restarted first (it serves nothing anyway). Controller-only pods go first, then combined ones, then
/// brokers, each by node id. Non-blocking: the caller requeues while <see cref="RollResult.Pending"/>.
/// Not yet: Strimzi's KafkaRoller safety checks (controller quorum, ISR / min.insync.replicas), which need replication.
/// Thread-safe: the controller never runs one Kafka on two workers; the memo is concurrent.
/// </summary>
internal sealed partial class RollingRestartStep
{
    private readonly ClusterCaches _caches;
    private readonly Applier _applier;
    private readonly ILogger _logger;

    // Pods deleted by this operator whose deletion the pod cache may not show yet, by namespace/name: the uid deleted.
    // A cached pod with that uid counts as gone, so a stale cache can never make two pods down at once.
    private readonly ConcurrentDictionary<string, string> _deleted = new(StringComparer.Ordinal);

    public RollingRestartStep(ClusterCaches caches, Applier applier, ILogger logger)
    {
        _caches = caches;
        _applier = applier;
        _logger = logger;
    }

    /// <param name="podSets">The pod sets this reconcile applied: each pod's desired revision is read from its definition there.</param>
    public async Task<RollResult> ReconcileAsync(KafkaClusterModel model, IEnumerable<StrimziPodSet> podSets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(podSets);
        var desiredRevisions = podSets.SelectMany(s => s.Spec?.Pods ?? []).ToDictionary(
            p => (string)p["metadata"]!["name"]!, p => (string?)p["metadata"]!["annotations"]?[KafkaClusterModel.RevisionAnnotation], StringComparer.Ordinal);
        var manual = await MoveManualRollingFromPodSetsAsync(model, cancellationToken).ConfigureAwait(false);
        var nodes = new List<Node>();
        foreach (var pool in model.Pools.OrderBy(p => p.IsBroker ? (p.IsController ? 1 : 2) : 0).ThenBy(p => p.NodeIds.IsEmpty ? 0 : p.NodeIds[0]))
        {
            foreach (var id in pool.NodeIds)
            {
                var name = pool.PodName(model.Name, id);
                var key = new ObjectKey(model.Namespace, name);
                var present = _caches.Pods.TryGet(key, out var cached) && cached.Metadata.DeletionTimestamp is null && !IsDeletedByUs(key, cached);
                if (!present)
                {
                    nodes.Add(new Node(name, null, Available: false, Stale: false));
                    continue;
                }

                var desired = desiredRevisions[name];
                var annotations = cached!.Metadata.Annotations;
                var revision = annotations?.TryGetValue(KafkaClusterModel.RevisionAnnotation, out var value) == true ? value : null;
                var stale = revision != desired || IsTrue(annotations, KafkaClusterModel.ManualRollingUpdateAnnotation) || manual.Contains(name);
                nodes.Add(new Node(name, cached, IsReady(cached), stale));
            }
        }

        var stalePods = nodes.Where(n => n.Stale).ToList();
        if (stalePods.Count == 0)
        {
            return new RollResult([], null);
        }

        // A stale pod that is not Ready first; a Ready one only when every other node is up.
        var next = stalePods.FirstOrDefault(n => !n.Available)
            ?? (nodes.All(n => n.Available) ? stalePods[0] : null);
        if (next is null)
        {
            LogWaiting(_logger, model.Namespace, model.Name, string.Join(", ", nodes.Where(n => !n.Available).Select(n => n.Name)));
            return new RollResult([.. stalePods.Select(n => n.Name)], null);
        }

        var pod = next.Pod!;
        var podKey = ObjectKey.Of(pod).ToString();
        _deleted[podKey] = pod.Metadata.Uid;
        await _applier.DeletePodAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name, pod.Metadata.Uid, cancellationToken).ConfigureAwait(false);
        LogRestarted(_logger, model.Namespace, next.Name, stalePods.Count - 1);
        return new RollResult([.. stalePods.Select(n => n.Name)], next.Name);
    }

    /// <summary>
    /// <c>strimzi.io/manual-rolling-update</c> on a StrimziPodSet means every pod it has now: the request moves onto those
    /// pods (so it survives this reconcile, and pods created later are not restarted), then leaves the pod set.
    /// </summary>
    private async Task<HashSet<string>> MoveManualRollingFromPodSetsAsync(KafkaClusterModel model, CancellationToken cancellationToken)
    {
        var marked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pool in model.Pools)
        {
            if (!_caches.StrimziPodSets.TryGet(new ObjectKey(model.Namespace, pool.WorkloadName(model.Name)), out var podSet)
                || !IsTrue(podSet.Metadata.Annotations, KafkaClusterModel.ManualRollingUpdateAnnotation))
            {
                continue;
            }

            var request = new Dictionary<string, string?> { [KafkaClusterModel.ManualRollingUpdateAnnotation] = "true" };
            foreach (var id in pool.NodeIds)
            {
                var key = new ObjectKey(model.Namespace, pool.PodName(model.Name, id));
                if (_caches.Pods.TryGet(key, out var pod) && pod.Metadata.DeletionTimestamp is null
                    && !IsTrue(pod.Metadata.Annotations, KafkaClusterModel.ManualRollingUpdateAnnotation))
                {
                    await _applier.PatchAnnotationsAsync<V1Pod>(key.Namespace, key.Name, request, cancellationToken).ConfigureAwait(false);
                    marked.Add(key.Name);
                }
            }

            await _applier.PatchAnnotationsAsync<StrimziPodSet>(model.Namespace, podSet.Metadata.Name,
                new Dictionary<string, string?> { [KafkaClusterModel.ManualRollingUpdateAnnotation] = null }, cancellationToken).ConfigureAwait(false);
        }

        return marked;
    }

    private bool IsDeletedByUs(ObjectKey key, V1Pod pod)
    {
        var text = key.ToString();
        if (!_deleted.TryGetValue(text, out var uid))
        {
            return false;
        }

        if (uid == pod.Metadata.Uid)
        {
            return true;
        }

        _deleted.TryRemove(KeyValuePair.Create(text, uid)); // the cache shows the replacement
        return false;
    }

    /// <summary>The pod's Ready condition is True.</summary>
    public static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static bool IsTrue(IDictionary<string, string>? annotations, string key) =>
        annotations?.TryGetValue(key, out var value) == true && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    private sealed record Node(string Name, V1Pod? Pod, bool Available, bool Stale);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka {Namespace}/{Cluster}: rolling restart waits for {Pods}")]
    private static partial void LogWaiting(ILogger logger, string @namespace, string cluster, string pods);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}/{Pod} restarted (rolling update); {Remaining} more to go")]
    private static partial void LogRestarted(ILogger logger, string @namespace, string pod, int remaining);
}
