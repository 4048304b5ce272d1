using Microsoft.Extensions.Logging;
using Operator.Api;
using Operator.Model;

namespace Operator.Reconcilers;

/// <summary>What the broker scale-down check found: nothing to do, pools to use instead of the user's, or an error.</summary>
/// <param name="Warnings">The Warning conditions the Kafka's status carries for the reverted changes.</param>
/// <param name="RevertedPools">The node pools with their scale-down or role change undone; null when nothing was reverted.</param>
/// <param name="BrokersInUse">The brokers that held partition replicas, when the cluster was asked.</param>
/// <param name="Error">Why the reconcile cannot go on (the cluster could not be asked); null otherwise.</param>
internal sealed record ScaleDownCheckResult(
    IReadOnlyList<ModelWarning> Warnings,
    List<KafkaNodePool>? RevertedPools,
    IReadOnlySet<int> BrokersInUse,
    (string Reason, string Message)? Error)
{
    public static readonly ScaleDownCheckResult Nothing = new([], null, new HashSet<int>(), null);
}

/// <summary>
/// Strimzi's broker scale-down check (its <c>KafkaClusterCreator</c>): nodes a pool no longer lists, and nodes of a pool
/// that loses the broker role, are compared with the brokers that hold partition replicas. If any of them still holds
/// one, every broker pool's scale-down (spec.replicas back to its current node count) and role removal (the broker role
/// added back) is undone in memory, never in the user's resource, and the Kafka's status says so with a Warning of reason
/// <c>ScaleDownPreventionCheck</c>. <c>strimzi.io/skip-broker-scaledown-check: "true"</c> on the Kafka turns the check off.
/// A pool deleted outright is not checked, as in Strimzi. Stateless apart from its admin client; thread-safe.
/// </summary>
internal sealed partial class ScaleDownCheck
{
    public const string SkipAnnotation = "strimzi.io/skip-broker-scaledown-check";
    public const string Reason = "ScaleDownPreventionCheck";

    private readonly IClusterAdmin _admin;
    private readonly ILogger _logger;

    public ScaleDownCheck(IClusterAdmin admin, ILogger logger)
    {
        _admin = admin;
        _logger = logger;
    }

    public async Task<ScaleDownCheckResult> RunAsync(Kafka kafka, List<KafkaNodePool> pools, KafkaClusterModel model, CancellationToken cancellationToken)
    {
        var (removed, noLongerBrokers) = Leaving(model);
        if (Skipped(kafka) || (removed.Count == 0 && noLongerBrokers.Count == 0))
        {
            return ScaleDownCheckResult.Nothing;
        }

        IReadOnlySet<int> inUse;
        try
        {
            inUse = await _admin.BrokersInUseAsync(model.Namespace, model.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterAdminException e)
        {
            return ScaleDownCheckResult.Nothing with
            {
                Error = (KafkaReconciler.ClusterAdminReason, $"Checking whether the brokers {Format(removed.Union(noLongerBrokers))} to remove are empty failed: {e.Message}"),
            };
        }

        var scaleDownBlocked = removed.Overlaps(inUse);
        var roleChangeBlocked = noLongerBrokers.Overlaps(inUse);
        if (!scaleDownBlocked && !roleChangeBlocked)
        {
            return ScaleDownCheckResult.Nothing with { BrokersInUse = inUse };
        }

        var key = $"{model.Namespace}/{model.Name}";
        if (scaleDownBlocked)
        {
            LogScaleDownBlocked(_logger, key, Format(removed), Format(removed.Intersect(inUse)));
        }

        if (roleChangeBlocked)
        {
            LogRoleChangeBlocked(_logger, key, Format(noLongerBrokers), Format(noLongerBrokers.Intersect(inUse)));
        }

        var warnings = new List<ModelWarning>();
        var reverted = new List<KafkaNodePool>(pools.Count);
        foreach (var pool in pools)
        {
            var wasBroker = pool.Status?.Roles?.Contains(KafkaNodePool.BrokerRole) == true;
            var current = pool.Status?.NodeIds?.Count;
            var copy = pool;
            if (scaleDownBlocked && wasBroker && current is { } count && pool.Spec?.Replicas < count)
            {
                copy = KafkaReconciler.Clone(copy)!;
                copy.Spec!.Replicas = count;
                warnings.Add(new(Reason, $"Reverting scale-down of KafkaNodePool {pool.Metadata.Name} by changing number of replicas to {count}"));
            }

            if (roleChangeBlocked && wasBroker && pool.Spec?.Roles?.Contains(KafkaNodePool.BrokerRole) != true)
            {
                copy = ReferenceEquals(copy, pool) ? KafkaReconciler.Clone(copy)! : copy;
                copy.Spec!.Roles = [.. copy.Spec.Roles ?? [], KafkaNodePool.BrokerRole];
                warnings.Add(new(Reason, $"Reverting role change of KafkaNodePool {pool.Metadata.Name} by adding the broker role to it"));
            }

            reverted.Add(copy);
        }

        foreach (var warning in warnings)
        {
            LogReverted(_logger, key, warning.Message);
        }

        return new ScaleDownCheckResult(warnings, reverted, inUse, null);
    }

    /// <summary>
    /// After the revert: Strimzi's InvalidResourceException message when a node that holds replicas would still go; null
    /// when none would.
    /// </summary>
    public static string? StillBlocked(KafkaClusterModel model, IReadOnlySet<int> inUse)
    {
        var (removed, noLongerBrokers) = Leaving(model);
        var errors = new List<string>();
        if (removed.Overlaps(inUse))
        {
            errors.Add($"Cannot scale-down Kafka brokers {Format(removed)} because they have assigned partition-replicas.");
        }

        if (noLongerBrokers.Overlaps(inUse))
        {
            errors.Add($"Cannot remove the broker role from nodes {Format(noLongerBrokers)} because they have assigned partition-replicas.");
        }

        return errors.Count == 0 ? null : $"Following errors were found when processing the Kafka custom resource: [{string.Join(", ", errors)}]";
    }

    private static bool Skipped(Kafka kafka) =>
        kafka.Metadata.Annotations?.TryGetValue(SkipAnnotation, out var value) == true && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Nodes each pool's status lists that its new node ids do not (scaled down), and the remaining nodes of pools whose
    /// status has the broker role that the new model does not give them.
    /// </summary>
    private static (SortedSet<int> Removed, SortedSet<int> NoLongerBrokers) Leaving(KafkaClusterModel model)
    {
        var removed = new SortedSet<int>();
        var noLongerBrokers = new SortedSet<int>();
        foreach (var pool in model.Pools)
        {
            if (pool.Source?.Status is not { NodeIds: { } current } status)
            {
                continue;
            }

            removed.UnionWith(current.Except(pool.NodeIds));
            if (status.Roles?.Contains(KafkaNodePool.BrokerRole) == true && !pool.IsBroker)
            {
                noLongerBrokers.UnionWith(current.Intersect(pool.NodeIds));
            }
        }

        return (removed, noLongerBrokers);
    }

    // Java's Set.toString, which Strimzi's messages use: [3, 4].
    private static string Format(IEnumerable<int> ids) => "[" + string.Join(", ", ids.Order()) + "]";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Key}: cannot scale down brokers {Removed} because {InUse} have assigned partition-replicas")]
    private static partial void LogScaleDownBlocked(ILogger logger, string key, string removed, string inUse);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Key}: cannot remove the broker role from nodes {Nodes} because {InUse} still have assigned partition-replicas")]
    private static partial void LogRoleChangeBlocked(ILogger logger, string key, string nodes, string inUse);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka {Key}: {Message}")]
    private static partial void LogReverted(ILogger logger, string key, string message);
}
