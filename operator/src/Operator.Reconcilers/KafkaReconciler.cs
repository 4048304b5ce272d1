using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Certificates;
using Operator.Kube;
using Operator.Model;

namespace Operator.Reconcilers;

/// <summary>Settings of the Kafka reconciler. Immutable.</summary>
public sealed record KafkaReconcilerOptions
{
    /// <summary>Broker image unless spec.kafka.image overrides it.</summary>
    public string Image { get; init; } = "kafka-broker:latest";

    /// <summary>How soon a cluster whose pods are not all Ready is looked at again.</summary>
    public TimeSpan PodWaitInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Key sizes, cluster domain and the randomness of serials and passwords of the certificates.</summary>
    public CertificateOptions Certificates { get; init; } = new();

    /// <summary>
    /// The Admin calls to running clusters (the broker scale-down check); null: the Kafka protocol to Strimzi's bootstrap
    /// Service (<see cref="KafkaProtocolAdmin.DefaultBootstrap"/>) with a 30 s timeout.
    /// </summary>
    public IClusterAdmin? Admin { get; init; }
}

/// <summary>
/// Reconciles one Kafka cluster (Strimzi's KafkaReconciler, KRaft with node pools) as an ordered list of named steps:
/// read the Kafka, keep its cluster id, read its pools, build the model, undo a scale-down of brokers that still hold
/// partition replicas, persist node ids, reconcile the certificates, clean a pod marked for it, apply the objects, delete
/// what the model no longer wants, restart out-of-date pods one at a time, write the status. Reads only caches; every
/// object write goes through the <see cref="Applier"/>, CR status through the status subresource, and only when it
/// changed, so a converged cluster reconciles without a single write. Thread-safe: the controller never runs one key on two workers.
/// </summary>
public sealed partial class KafkaReconciler : IReconciler
{
    public const string PauseAnnotation = "strimzi.io/pause-reconciliation";
    public const string InvalidResourceReason = "InvalidResourceException";
    public const string WaitingForPodsReason = "WaitingForPods";
    public const string RollingUpdateReason = "RollingUpdate";
    public const string NoCertificateSecretReason = "NoCertificateSecretException";
    public const string NoSuchResourceReason = "NoSuchResourceException";
    public const string ClusterAdminReason = nameof(ClusterAdminException);

    private readonly ClusterCaches _caches;
    private readonly Applier _applier;
    private readonly KafkaReconcilerOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly CertificatesStep _certificates;
    private readonly RollingRestartStep _roll;
    private readonly ScaleDownCheck _scaleDownCheck;
    private readonly PodCleaningStep _cleaning;

    // Cluster ids written but possibly not yet seen by the Kafka informer, by Kafka uid: a reconcile that reads a
    // stale cache must not generate a second id.
    private readonly ConcurrentDictionary<string, string> _writtenClusterIds = new(StringComparer.Ordinal);

    /// <param name="random">Source of cluster ids, injected so tests are deterministic.</param>
    public KafkaReconciler(ClusterCaches caches, Applier applier, KafkaReconcilerOptions options, TimeProvider time, Random random, ILogger logger)
    {
        _caches = caches;
        _applier = applier;
        _options = options;
        _time = time;
        _random = random;
        _logger = logger;
        _certificates = new CertificatesStep(caches, applier, time, options.Certificates);
        _roll = new RollingRestartStep(caches, applier, logger);
        _cleaning = new PodCleaningStep(caches, applier, logger);
        _scaleDownCheck = new ScaleDownCheck(options.Admin ?? new KafkaProtocolAdmin(null, TimeSpan.FromSeconds(30)), logger);
    }

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        // 1. The Kafka, from the cache; gone means its objects go with it (owner references).
        if (!_caches.Kafkas.TryGet(key, out var kafka))
        {
            await WriteOrphanPoolsAsync(key, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        if (IsPaused(kafka))
        {
            await WritePausedStatusAsync(kafka, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        // 2. The cluster id, persisted before anything uses it.
        var clusterId = await EnsureClusterIdAsync(kafka, cancellationToken).ConfigureAwait(false);

        // 3. The node pools labelled for this cluster.
        var pools = ReadNodePools(kafka);

        // 4. The model; invalid resources stop here with a NotReady status naming the field.
        if (!TryBuildModel(kafka, pools, clusterId, null, out var model, out var errors))
        {
            await WriteNotReadyStatusAsync(kafka, pools, clusterId, InvalidResourceReason, string.Join("; ", errors), cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        // 4b. Brokers leaving (a pool scaled down or losing the broker role) must hold no partition replica; if one does,
        // the change is reverted in memory with a Warning, and the model rebuilt from the reverted pools.
        var check = await _scaleDownCheck.RunAsync(kafka, pools, model, cancellationToken).ConfigureAwait(false);
        if (check.Error is { } checkError)
        {
            await WriteNotReadyStatusAsync(kafka, pools, clusterId, checkError.Reason, checkError.Message, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.After(_options.PodWaitInterval);
        }

        if (check.RevertedPools is { } reverted)
        {
            pools = reverted;
            if (!TryBuildModel(kafka, pools, clusterId, null, out model, out errors))
            {
                await WriteNotReadyStatusAsync(kafka, pools, clusterId, InvalidResourceReason, string.Join("; ", errors), cancellationToken).ConfigureAwait(false);
                return ReconcileResult.Done;
            }

            if (ScaleDownCheck.StillBlocked(model, check.BrokersInUse) is { } blocked)
            {
                await WriteNotReadyStatusAsync(kafka, pools, clusterId, InvalidResourceReason, blocked, cancellationToken).ConfigureAwait(false);
                return ReconcileResult.Done;
            }
        }

        // 5. Node ids, persisted in the pools' status before any pod carries them.
        var poolStatuses = await PersistNodePoolStatusAsync(model, cancellationToken).ConfigureAwait(false);

        // 6. Certificates: the CAs, whose generations go into the pod templates, then every node's and the operator's
        // key pair, before any pod could need them.
        ClusterCas cas;
        try
        {
            cas = await _certificates.ReconcileCasAsync(kafka, model.OwnerReference, cancellationToken).ConfigureAwait(false);
        }
        catch (NoCertificateSecretException e)
        {
            await WriteNotReadyStatusAsync(kafka, pools, clusterId, NoCertificateSecretReason, e.Message, cancellationToken).ConfigureAwait(false);
            return ReconcileResult.Done;
        }

        using (cas)
        {
            TryBuildModel(kafka, pools, clusterId, cas.Generations, out model, out _);
            await _certificates.ReconcileNodeCertificatesAsync(kafka, model, cas, cancellationToken).ConfigureAwait(false);
        }

        // 7. Every object of the cluster, less a pod being cleaned (strimzi.io/delete-pod-and-pvc) and its claims, which
        // come back once both are gone.
        var desired = model.BuildAll().ToList();
        var cleaning = await _cleaning.ReconcileAsync(model, desired, cancellationToken).ConfigureAwait(false);
        await ApplyObjectsAsync(desired, cancellationToken).ConfigureAwait(false);
        if (cleaning is { } clean)
        {
            await _cleaning.DeletePodAsync(clean, cancellationToken).ConfigureAwait(false);
        }

        // 8. Objects of this cluster the model no longer wants (a removed pool, node or listener).
        await DeleteUnwantedObjectsAsync(kafka, desired, cancellationToken).ConfigureAwait(false);

        // 9. Rolling restarts of pods whose template revision or configuration is out of date, one at a time; none while a
        // pod is being cleaned, which is down already.
        var roll = cleaning is null
            ? await _roll.ReconcileAsync(model, desired.OfType<StrimziPodSet>(), cancellationToken).ConfigureAwait(false)
            : new RollResult([], null);

        // 10. Readiness and status.
        var waiting = PodsNotReady(model);
        if (cleaning is { Pod: var cleaned } && !waiting.Contains(cleaned))
        {
            waiting.Add(cleaned);
        }
        var condition = roll.Pending
            ? NewCondition(ConditionTypes.NotReady, RollingUpdateReason, "pods to restart: " + string.Join(", ", roll.Stale))
            : waiting.Count > 0
                ? NewCondition(ConditionTypes.NotReady, WaitingForPodsReason, "pods not ready: " + string.Join(", ", waiting))
                : NewCondition(ConditionTypes.Ready, null, null);
        await WriteKafkaStatusAsync(kafka, model, condition, check.Warnings, cancellationToken).ConfigureAwait(false);
        await WritePoolConditionsAsync(model, poolStatuses, waiting, roll, cancellationToken).ConfigureAwait(false);
        return waiting.Count == 0 && !roll.Pending ? ReconcileResult.Done : ReconcileResult.After(_options.PodWaitInterval);
    }

    private static bool IsPaused(Kafka kafka) =>
        kafka.Metadata.Annotations is { } annotations && annotations.TryGetValue(PauseAnnotation, out var value)
        && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    private async Task<string> EnsureClusterIdAsync(Kafka kafka, CancellationToken cancellationToken)
    {
        if (kafka.Status?.ClusterId is { Length: > 0 } existing)
        {
            _writtenClusterIds.TryRemove(kafka.Metadata.Uid ?? kafka.Metadata.Name, out _);
            return existing;
        }

        var uid = kafka.Metadata.Uid ?? kafka.Metadata.Name;
        if (_writtenClusterIds.TryGetValue(uid, out var written))
        {
            return written;
        }

        var bytes = new byte[16];
        lock (_random)
        {
            _random.NextBytes(bytes);
        }

        var clusterId = System.Buffers.Text.Base64Url.EncodeToString(bytes);
        var status = Clone(kafka.Status) ?? new KafkaStatus();
        status.ClusterId = clusterId;
        await _caches.KafkaResources.PatchStatusAsync(kafka.Metadata.NamespaceProperty, kafka.Metadata.Name, status, cancellationToken).ConfigureAwait(false);
        _writtenClusterIds[uid] = clusterId;
        LogClusterId(_logger, ObjectKey.Of(kafka).ToString(), clusterId);
        return clusterId;
    }

    private List<KafkaNodePool> ReadNodePools(Kafka kafka) =>
        [.. _caches.NodePools.Items().Where(p => p.Metadata.NamespaceProperty == kafka.Metadata.NamespaceProperty && p.ClusterLabel == kafka.Metadata.Name)];

    private bool TryBuildModel(Kafka kafka, List<KafkaNodePool> pools, string clusterId, CaGenerations? caGenerations, out KafkaClusterModel model,
        out IReadOnlyList<ValidationError> errors)
    {
        var ns = kafka.Metadata.NamespaceProperty;
        var nodeIds = ImmutableDictionary.CreateBuilder<string, ImmutableArray<int>>(StringComparer.Ordinal);
        foreach (var pool in pools.Where(p => p.Status?.NodeIds is { Count: > 0 }))
        {
            nodeIds[pool.Metadata.Name] = [.. pool.Status!.NodeIds!];
        }

        // The storage deployed now, from each pool's StrimziPodSet annotation (the implicit legacy pool too).
        var storage = ImmutableDictionary.CreateBuilder<string, Storage>(StringComparer.Ordinal);
        foreach (var poolName in pools.Select(p => p.Metadata.Name).Append(NodePoolModel.ImplicitName))
        {
            if (_caches.StrimziPodSets.TryGet(new ObjectKey(ns, kafka.Metadata.Name + "-" + poolName), out var podSet)
                && podSet.Metadata.Annotations?.TryGetValue(KafkaClusterModel.StorageAnnotation, out var json) == true
                && JsonSerializer.Deserialize<Storage>(json, Manifests.JsonOptions) is { } deployed)
            {
                storage[poolName] = deployed;
            }
        }

        var options = new ModelOptions
        {
            Namespace = ns,
            ClusterId = clusterId,
            Image = _options.Image,
            NodeIds = nodeIds.ToImmutable(),
            CurrentStorage = storage.ToImmutable(),
            CaGenerations = caGenerations,
        };
        var valid = KafkaClusterModel.TryFrom(kafka, pools, options, out var built, out errors);
        model = built!;
        return valid;
    }

    private async Task ApplyObjectsAsync(IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects, CancellationToken cancellationToken)
    {
        foreach (var desired in objects)
        {
            await ApplyAsync(desired, cancellationToken).ConfigureAwait(false);
        }
    }

    private Task<ApplyOutcome> ApplyAsync(IKubernetesObject<V1ObjectMeta> desired, CancellationToken cancellationToken) => desired switch
    {
        StrimziPodSet o => ApplyAsync(o, cancellationToken),
        V1PersistentVolumeClaim o => ApplyAsync(o, cancellationToken),
        V1ConfigMap o => ApplyAsync(o, cancellationToken),
        V1Service o => ApplyAsync(o, cancellationToken),
        V1ServiceAccount o => ApplyAsync(o, cancellationToken),
        V1Role o => ApplyAsync(o, cancellationToken),
        V1RoleBinding o => ApplyAsync(o, cancellationToken),
        V1PodDisruptionBudget o => ApplyAsync(o, cancellationToken),
        V1NetworkPolicy o => ApplyAsync(o, cancellationToken),
        V1Ingress o => ApplyAsync(o, cancellationToken),
        V1Secret o => ApplyAsync(o, cancellationToken),
        _ => throw new NotSupportedException($"The Kafka reconciler cannot apply {desired.GetType().Name}."),
    };

    /// <summary>Applies one object against its cached current state (the applier sends nothing when that already holds).</summary>
    private Task<ApplyOutcome> ApplyAsync<T>(T desired, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        _applier.ApplyAsync(desired, _caches.Owned<T>().TryGet(ObjectKey.Of(desired), out var current) ? current : null, cancellationToken);

    private async Task DeleteUnwantedObjectsAsync(Kafka kafka, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> desired, CancellationToken cancellationToken)
    {
        var wanted = desired.Select(o => (o.GetType(), ObjectKey.Of(o))).ToHashSet();
        bool Unwanted(IKubernetesObject<V1ObjectMeta> o) =>
            o.Metadata.NamespaceProperty == kafka.Metadata.NamespaceProperty
            && o.Metadata.Labels is { } labels && labels.TryGetValue(StrimziLabels.Name, out var owner) && owner == kafka.Metadata.Name + "-kafka"
            && o.Metadata.OwnerReferences?.Any(r => r.Uid == kafka.Metadata.Uid) == true
            && !wanted.Contains((o.GetType(), ObjectKey.Of(o)));

        await DeleteAsync<StrimziPodSet>(Unwanted, cancellationToken).ConfigureAwait(false);
        await DeleteAsync<V1ConfigMap>(Unwanted, cancellationToken).ConfigureAwait(false);
        await DeleteAsync<V1Service>(Unwanted, cancellationToken).ConfigureAwait(false);
        await DeleteAsync<V1Ingress>(Unwanted, cancellationToken).ConfigureAwait(false);

        // Claims of removed nodes go only with deleteClaim (strimzi.io/delete-claim: "true"), and only once no pod of the
        // namespace mounts them any more (Kubernetes would hold a claim in use anyway).
        var mounted = _caches.Pods.Items()
            .Where(p => p.Metadata.NamespaceProperty == kafka.Metadata.NamespaceProperty)
            .SelectMany(p => p.Spec?.Volumes ?? [])
            .Select(v => v.PersistentVolumeClaim?.ClaimName)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        await DeleteAsync<V1PersistentVolumeClaim>(o => o.Metadata.NamespaceProperty == kafka.Metadata.NamespaceProperty
            && o.Metadata.Labels?.TryGetValue(StrimziLabels.Cluster, out var cluster) == true && cluster == kafka.Metadata.Name
            && o.Metadata.Labels.TryGetValue(StrimziLabels.Kind, out var kind) && kind == "Kafka"
            && o.Metadata.Annotations?.TryGetValue(KafkaClusterModel.DeleteClaimAnnotation, out var delete) == true && delete == "true"
            && o.Metadata.DeletionTimestamp is null
            && !wanted.Contains((o.GetType(), ObjectKey.Of(o))) && !mounted.Contains(o.Metadata.Name), cancellationToken).ConfigureAwait(false);
    }

    private async Task DeleteAsync<T>(Func<IKubernetesObject<V1ObjectMeta>, bool> unwanted, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        foreach (var o in _caches.Owned<T>().Items().Where(unwanted))
        {
            await _applier.DeleteAsync<T>(o.Metadata.NamespaceProperty, o.Metadata.Name, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Names of the cluster's pods that do not exist yet or are not Ready.</summary>
    private List<string> PodsNotReady(KafkaClusterModel model)
    {
        var waiting = new List<string>();
        foreach (var (pool, nodeId) in model.Nodes)
        {
            var name = pool.PodName(model.Name, nodeId);
            var ready = _caches.Pods.TryGet(new ObjectKey(model.Namespace, name), out var pod) && RollingRestartStep.IsReady(pod);
            if (!ready)
            {
                waiting.Add(name);
            }
        }

        return waiting;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka {Key}: generated cluster id {ClusterId}")]
    private static partial void LogClusterId(ILogger logger, string key, string clusterId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Key} is not ready: {Errors}")]
    private static partial void LogInvalid(ILogger logger, string key, string errors);
}
