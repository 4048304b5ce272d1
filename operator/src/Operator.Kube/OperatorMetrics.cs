using Prometheus;

namespace Operator.Kube;

/// <summary>
/// Strimzi's operator metrics (its OperatorMetricsHolder names, labels <c>kind</c>, <c>namespace</c>, <c>selector</c>) in
/// an injected prometheus-net registry: reconciliations started, successful and failed, their durations, and the number
/// of custom resources per namespace (set by the owner through <see cref="SetResources"/>, typically at scrape time).
/// Thread-safe.
/// </summary>
public sealed class OperatorMetrics
{
    // From a converged reconcile (milliseconds, no writes) to one that creates certificates or waits on the API (minutes).
    private static readonly double[] DurationBuckets = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
    private static readonly string[] Labels = ["kind", "namespace", "selector"];

    private readonly TimeProvider _time;
    private readonly string _selector;
    private readonly Counter _reconciliations;
    private readonly Counter _successful;
    private readonly Counter _failed;
    private readonly Histogram _duration;
    private readonly Gauge _resources;

    /// <param name="selector">The operator's custom resource selector (Strimzi's <c>STRIMZI_CUSTOM_RESOURCE_SELECTOR</c>); empty for none.</param>
    public OperatorMetrics(CollectorRegistry registry, TimeProvider time, string selector = "")
    {
        ArgumentNullException.ThrowIfNull(registry);
        _time = time;
        _selector = selector;
        Registry = registry;
        var factory = Metrics.WithCustomRegistry(registry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        _reconciliations = factory.CreateCounter("strimzi_reconciliations_total", "Reconciliations started, per custom resource kind and namespace", Labels);
        _successful = factory.CreateCounter("strimzi_reconciliations_successful_total", "Reconciliations that completed without an error", Labels);
        _failed = factory.CreateCounter("strimzi_reconciliations_failed_total", "Reconciliations that threw and were re-queued with backoff", Labels);
        _duration = factory.CreateHistogram("strimzi_reconciliations_duration_seconds", "Time from the start of a reconciliation to its end, successful or not", Labels,
            new HistogramConfiguration { Buckets = DurationBuckets });
        _resources = factory.CreateGauge("strimzi_resources", "Custom resources of the kind in the informer cache", Labels);
    }

    /// <summary>The registry these metrics live in (served on the health port's <c>/metrics</c>).</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Counts a reconciliation as started; returns the timestamp to pass to <see cref="Succeeded"/> or <see cref="Failed"/>.</summary>
    public long Started(string kind, string ns)
    {
        _reconciliations.WithLabels(kind, ns, _selector).Inc();
        // Touch the outcome counters so a namespace without failures exports failed_total 0, not nothing.
        _successful.WithLabels(kind, ns, _selector);
        _failed.WithLabels(kind, ns, _selector);
        return _time.GetTimestamp();
    }

    public void Succeeded(string kind, string ns, long started)
    {
        _successful.WithLabels(kind, ns, _selector).Inc();
        _duration.WithLabels(kind, ns, _selector).Observe(_time.GetElapsedTime(started).TotalSeconds);
    }

    public void Failed(string kind, string ns, long started)
    {
        _failed.WithLabels(kind, ns, _selector).Inc();
        _duration.WithLabels(kind, ns, _selector).Observe(_time.GetElapsedTime(started).TotalSeconds);
    }

    public void SetResources(string kind, string ns, int count) => _resources.WithLabels(kind, ns, _selector).Set(count);
}
