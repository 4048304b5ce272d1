using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Operator.Api;
using Operator.Kube;
using Operator.Model;

namespace Operator.Reconcilers;

// Status writes of the Kafka reconcile: the Kafka's and its pools', each through the status subresource and only when
// the desired status differs from the current one.
public sealed partial class KafkaReconciler
{
    private Task WritePausedStatusAsync(Kafka kafka, CancellationToken cancellationToken)
    {
        var status = Clone(kafka.Status) ?? new KafkaStatus();
        status.Conditions = KeepTransitionTimes(kafka.Status?.Conditions, [NewCondition(ConditionTypes.ReconciliationPaused, null, null)]);
        return WriteStatusIfChangedAsync(_caches.KafkaResources, kafka.Metadata, kafka.Status, status, cancellationToken);
    }

    /// <summary>A Kafka that cannot be reconciled: NotReady with the reason on the Kafka and on each of its pools.</summary>
    private async Task WriteNotReadyStatusAsync(Kafka kafka, IReadOnlyList<KafkaNodePool> pools, string clusterId, string reason, string message,
        CancellationToken cancellationToken)
    {
        LogInvalid(_logger, ObjectKey.Of(kafka).ToString(), message);
        var status = Clone(kafka.Status) ?? new KafkaStatus();
        status.ClusterId = clusterId;
        status.ObservedGeneration = kafka.Metadata.Generation;
        status.Conditions = KeepTransitionTimes(kafka.Status?.Conditions, [NewCondition(ConditionTypes.NotReady, reason, message)]);
        await WriteStatusIfChangedAsync(_caches.KafkaResources, kafka.Metadata, kafka.Status, status, cancellationToken).ConfigureAwait(false);
        foreach (var pool in pools)
        {
            await WritePoolConditionAsync(pool, pool.Status, NewCondition(ConditionTypes.NotReady, reason, message), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes each pool's node ids, roles, replicas and cluster id; returns the statuses the server now holds.</summary>
    private async Task<Dictionary<string, KafkaNodePoolStatus>> PersistNodePoolStatusAsync(KafkaClusterModel model, CancellationToken cancellationToken)
    {
        var written = new Dictionary<string, KafkaNodePoolStatus>(StringComparer.Ordinal);
        foreach (var pool in model.Pools.Where(p => p.Source is not null))
        {
            var source = pool.Source!;
            var status = model.BuildNodePoolStatus(pool);
            status.ObservedGeneration = source.Metadata.Generation;
            status.Conditions = source.Status?.Conditions;
            await WriteStatusIfChangedAsync(_caches.NodePoolResources, source.Metadata, source.Status, status, cancellationToken).ConfigureAwait(false);
            written[pool.Name] = status;
        }

        return written;
    }

    /// <summary>
    /// Each pool's condition once the cluster is reconciled: NotReady <c>RollingUpdate</c> while a pod of the pool waits
    /// for its restart, NotReady <c>WaitingForPods</c> while one is missing or not Ready, else Ready.
    /// </summary>
    private async Task WritePoolConditionsAsync(KafkaClusterModel model, Dictionary<string, KafkaNodePoolStatus> written, IReadOnlyList<string> waiting,
        RollResult roll, CancellationToken cancellationToken)
    {
        foreach (var pool in model.Pools.Where(p => p.Source is not null))
        {
            var pods = pool.NodeIds.Select(id => pool.PodName(model.Name, id)).ToHashSet(StringComparer.Ordinal);
            var stale = roll.Stale.Where(pods.Contains).ToList();
            var notReady = waiting.Where(pods.Contains).ToList();
            var condition = stale.Count > 0
                ? NewCondition(ConditionTypes.NotReady, RollingUpdateReason, "pods to restart: " + string.Join(", ", stale))
                : notReady.Count > 0
                    ? NewCondition(ConditionTypes.NotReady, WaitingForPodsReason, "pods not ready: " + string.Join(", ", notReady))
                    : NewCondition(ConditionTypes.Ready, null, null);
            await WritePoolConditionAsync(pool.Source!, written[pool.Name], condition, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Pools labelled for a Kafka that does not exist: NotReady naming it (Strimzi's NoSuchResourceException wording),
    /// until the Kafka appears and reconciles them.
    /// </summary>
    private async Task WriteOrphanPoolsAsync(ObjectKey kafka, CancellationToken cancellationToken)
    {
        var message = $"Kafka resource '{kafka.Name}' identified by label '{StrimziLabels.Cluster}' does not exist in namespace {kafka.Namespace}.";
        foreach (var pool in _caches.NodePools.Items().Where(p => p.Metadata.NamespaceProperty == kafka.Namespace && p.ClusterLabel == kafka.Name))
        {
            await WritePoolConditionAsync(pool, pool.Status, NewCondition(ConditionTypes.NotReady, NoSuchResourceReason, message), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Sets a pool's only condition and observedGeneration on top of <paramref name="current"/> (what the server holds).</summary>
    private Task WritePoolConditionAsync(KafkaNodePool pool, KafkaNodePoolStatus? current, Condition condition, CancellationToken cancellationToken)
    {
        var status = Clone(current) ?? new KafkaNodePoolStatus();
        status.ObservedGeneration = pool.Metadata.Generation;
        status.Conditions = KeepTransitionTimes(current?.Conditions, [condition]);
        return WriteStatusIfChangedAsync(_caches.NodePoolResources, pool.Metadata, current, status, cancellationToken);
    }

    private Task WriteKafkaStatusAsync(Kafka kafka, KafkaClusterModel model, Condition condition, IReadOnlyList<ModelWarning> warnings,
        CancellationToken cancellationToken)
    {
        var fromModel = model.BuildStatus();
        var status = Clone(kafka.Status) ?? new KafkaStatus();
        status.ClusterId = fromModel.ClusterId;
        status.KafkaVersion = fromModel.KafkaVersion;
        status.KafkaMetadataVersion = fromModel.KafkaMetadataVersion;
        status.KafkaNodePools = fromModel.KafkaNodePools;
        status.Listeners = fromModel.Listeners;
        status.ObservedGeneration = kafka.Metadata.Generation;
        status.Conditions = KeepTransitionTimes(kafka.Status?.Conditions,
            [condition, .. model.Warnings.Concat(warnings).Select(w => NewCondition(ConditionTypes.Warning, w.Reason, w.Message))]);
        return WriteStatusIfChangedAsync(_caches.KafkaResources, kafka.Metadata, kafka.Status, status, cancellationToken);
    }

    private static async Task WriteStatusIfChangedAsync<TResource, TStatus>(
        CustomResources<TResource> resources, V1ObjectMeta metadata, TStatus? current, TStatus desired, CancellationToken cancellationToken)
        where TResource : class, IKubernetesObject<V1ObjectMeta>
        where TStatus : StatusBase
    {
        if (JsonNode.DeepEquals(JsonSerializer.SerializeToNode(current, Manifests.JsonOptions), JsonSerializer.SerializeToNode(desired, Manifests.JsonOptions)))
        {
            return;
        }

        try
        {
            await resources.PatchStatusAsync(metadata.NamespaceProperty, metadata.Name, desired, cancellationToken).ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // Deleted while this reconcile ran: there is no status left to write, and its deletion event queues a
            // reconcile that finds it gone. Not a failure to back off from.
        }
    }

    private Condition NewCondition(string type, string? reason, string? message) => new()
    {
        Type = type,
        Status = "True",
        LastTransitionTime = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        Reason = reason,
        Message = message,
    };

    /// <summary>A condition that held before (same type, status, reason and message) keeps its lastTransitionTime.</summary>
    /// <summary>A desired condition that held before (same type, status, reason and message) keeps its lastTransitionTime.</summary>
    internal static List<Condition> KeepTransitionTimes(List<Condition>? current, List<Condition> desired)
    {
        foreach (var condition in desired)
        {
            var same = current?.FirstOrDefault(c => c.Type == condition.Type && c.Status == condition.Status && c.Reason == condition.Reason
                && c.Message == condition.Message);
            if (same?.LastTransitionTime is { } time)
            {
                condition.LastTransitionTime = time;
            }
        }

        return desired;
    }

    internal static T? Clone<T>(T? value)
        where T : class =>
        value is null ? null : JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(value, Manifests.JsonOptions), Manifests.JsonOptions);
}
