using k8s;
using Microsoft.Extensions.Logging;
using Operator.Kube;

namespace Operator.Reconcilers;

/// <summary>Settings of the cluster operator for one namespace, or all of them (null). Immutable.</summary>
public sealed record ClusterOperatorOptions(string? Namespace)
{
    public int Workers { get; init; } = 2;

    public InformerOptions Informers { get; init; } = new();

    public KafkaReconcilerOptions Kafka { get; init; } = new();

    /// <summary>Field manager of every server-side apply (Strimzi's operator name).</summary>
    public string FieldManager { get; init; } = "strimzi-cluster-operator";
}

/// <summary>
/// The cluster operator's wiring for one namespace or all of them: informers, the Kafka controller fed by them (pools and owned
/// objects map to their Kafka), one applier. <see cref="RunAsync"/> is what runs while this instance leads.
/// </summary>
public sealed class ClusterOperator : IDisposable
{
    private readonly Controller _controller;

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
    }

    public ClusterCaches Caches { get; }

    public Applier Applier { get; }

    public KafkaReconciler Reconciler { get; }

    public (long Reconciles, long Failures) Counts => _controller.Counts;

    /// <summary>Runs the informers and, once they have listed, the controller, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var informers = Caches.RunAsync(cancellationToken);
        try
        {
            await Caches.Synced.WaitAsync(cancellationToken).ConfigureAwait(false);
            await _controller.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping before the caches synced.
        }

        await informers.ConfigureAwait(false);
    }

    public void Dispose() => _controller.Dispose();
}
