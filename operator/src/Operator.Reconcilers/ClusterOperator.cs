using k8s;
using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Kube;

namespace Operator.Reconcilers;

/// <summary>Settings of the cluster operator for one namespace, or all of them (null). Immutable.</summary>
public sealed record ClusterOperatorOptions(string? Namespace)
{
    public int Workers { get; init; } = 2;

    public InformerOptions Informers { get; init; } = new();

    public KafkaReconcilerOptions Kafka { get; init; } = new();

    public StrimziPodSetControllerOptions PodSets { get; init; } = new();

    /// <summary>Field manager of every server-side apply (Strimzi's operator name).</summary>
    public string FieldManager { get; init; } = "strimzi-cluster-operator";
}

/// <summary>
/// The cluster operator's wiring for one namespace or all of them: informers, the Kafka controller fed by them (pools and owned
/// objects map to their Kafka), the StrimziPodSet controller (pod sets, and pods mapped to their set), one applier.
/// <see cref="RunAsync"/> is what runs while this instance leads. Thread-safe.
/// </summary>
public sealed class ClusterOperator : IDisposable
{
    private readonly Controller _controller;
    private readonly Controller _podSetController;

    /// <param name="metrics">Strimzi's reconciliation metrics, shared by every namespace's operator; null records none.</param>
    public ClusterOperator(IKubernetes client, ClusterOperatorOptions options, TimeProvider time, Random random, ILoggerFactory loggers,
        OperatorMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        Caches = new ClusterCaches(client, options.Namespace, options.Informers, time, random, loggers);
        Applier = new Applier(client, options.FieldManager, loggers.CreateLogger<Applier>());
        Reconciler = new KafkaReconciler(Caches, Applier, options.Kafka, time, random, loggers.CreateLogger<KafkaReconciler>());
        _controller = new Controller("Kafka", Reconciler,
            new WorkQueue<ObjectKey>(time, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(300)), options.Workers, loggers.CreateLogger<Controller>(), metrics);
        Caches.WireTo(_controller.Enqueue);
        PodSetReconciler = new StrimziPodSetController(Caches, options.PodSets, time, loggers.CreateLogger<StrimziPodSetController>());
        _podSetController = new Controller("StrimziPodSet", PodSetReconciler,
            new WorkQueue<ObjectKey>(time, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(300)), options.Workers, loggers.CreateLogger<Controller>(), metrics);
        Caches.StrimziPodSets.Changed += _podSetController.Enqueue;
        Caches.Pods.Changed += EnqueuePodSetOf;
    }

    public ClusterCaches Caches { get; }

    public Applier Applier { get; }

    public KafkaReconciler Reconciler { get; }

    public StrimziPodSetController PodSetReconciler { get; }

    /// <summary>The Kafka controller's reconciles and failures.</summary>
    public (long Reconciles, long Failures) Counts => _controller.Counts;

    /// <summary>The StrimziPodSet controller's reconciles and failures.</summary>
    public (long Reconciles, long Failures) PodSetCounts => _podSetController.Counts;

    /// <summary>Runs the informers and, once they have listed, both controllers, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var informers = Caches.RunAsync(cancellationToken);
        try
        {
            await Caches.Synced.WaitAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(_controller.RunAsync(cancellationToken), _podSetController.RunAsync(cancellationToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping before the caches synced.
        }

        await informers.ConfigureAwait(false);
    }

    public void Dispose()
    {
        _controller.Dispose();
        _podSetController.Dispose();
    }

    /// <summary>
    /// Queues the pod set a pod belongs to: its controller owner when that is a StrimziPodSet, else the set its
    /// <c>strimzi.io/controller-name</c> label names. A pod the cache no longer holds (deleted), or one naming no set
    /// (it may be one to adopt), queues every set of its namespace: the queue collapses keys, and a converged set
    /// reconciles without a write.
    /// </summary>
    private void EnqueuePodSetOf(ObjectKey pod)
    {
        if (Caches.Pods.TryGet(pod, out var cached))
        {
            if (StrimziPodSetController.ControllerOf(cached) is { Kind: "StrimziPodSet" } owner
                && owner.ApiVersion?.StartsWith(CoreStrimziGroup.Name + "/", StringComparison.Ordinal) == true)
            {
                _podSetController.Enqueue(new ObjectKey(pod.Namespace, owner.Name));
                return;
            }

            if (cached.Metadata.Labels?.TryGetValue(StrimziLabels.ControllerName, out var set) == true && set is not null)
            {
                _podSetController.Enqueue(new ObjectKey(pod.Namespace, set));
                return;
            }
        }

        foreach (var set in Caches.StrimziPodSets.Items().Where(s => s.Metadata.NamespaceProperty == pod.Namespace))
        {
            _podSetController.Enqueue(ObjectKey.Of(set));
        }
    }
}
