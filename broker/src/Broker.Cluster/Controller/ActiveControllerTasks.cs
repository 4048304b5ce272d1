using Broker.Cluster.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>What one <see cref="ActiveControllerTasks.RunDueAsync"/> did. Immutable.</summary>
public sealed record ActiveControllerTickResult(IReadOnlyList<int> Fenced, int Rebalanced, int UncleanElected);

/// <summary>
/// The periodic duties of the active controller (Kafka's QuorumController schedules them on its event queue while it
/// is active): fencing brokers whose sessions expired (every call), the leader-imbalance check every
/// <c>leader.imbalance.check.interval.seconds</c> (when <c>auto.leader.rebalance.enable</c>), and the unclean election
/// of offline partitions every <c>unclean.leader.election.interval.ms</c> and as soon as a topic's effective
/// <c>unclean.leader.election.enable</c> turns true (a config change). The intervals count from the activation, so
/// a new controller first waits one interval, as Kafka's does; <see cref="Deactivate"/> when leadership is lost.
/// </summary>
/// <remarks>Not thread-safe: owned by the one task that drives it (the broker's quorum membership loop); the work itself
/// runs under the controller's mutex.</remarks>
public sealed class ActiveControllerTasks
{
    private readonly BrokerLifecycle _lifecycle;
    private readonly LeaderElections _elections;
    private readonly IMetadataStore _store;
    private readonly TimeProvider _time;

    // The effective unclean setting last seen per topic: a false -> true change triggers an election at once.
    private readonly Dictionary<Guid, bool> _uncleanSeen = [];
    private long _rebalanceDueMs = -1;
    private long _uncleanDueMs = -1;

    public ActiveControllerTasks(BrokerLifecycle lifecycle, LeaderElections elections, IMetadataStore store, TimeProvider time)
    {
        _lifecycle = lifecycle;
        _elections = elections;
        _store = store;
        _time = time;
    }

    /// <summary>Whether the interval timers are running (this node acted as the active controller since the last
    /// <see cref="Deactivate"/>).</summary>
    public bool IsActive => _rebalanceDueMs >= 0;

    /// <summary>Runs whatever is due. Call only while this node is the active controller, often (every few hundred ms).</summary>
    public async Task<ActiveControllerTickResult> RunDueAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_rebalanceDueMs < 0)
        {
            _rebalanceDueMs = now + (long)_elections.CheckInterval.TotalMilliseconds;
            _uncleanDueMs = now + (long)_elections.UncleanCheckInterval.TotalMilliseconds;
            await _lifecycle.StartSessionsAfreshAsync(cancellationToken).ConfigureAwait(false);
        }

        var fenced = await _lifecycle.FenceExpiredSessionsAsync(cancellationToken).ConfigureAwait(false);
        var rebalanced = 0;
        if (now >= _rebalanceDueMs)
        {
            _rebalanceDueMs = now + (long)_elections.CheckInterval.TotalMilliseconds;
            rebalanced = await _elections.RebalanceAsync(cancellationToken).ConfigureAwait(false);
        }

        var unclean = 0;
        if (UncleanTurnedOn(_store.Image) | now >= _uncleanDueMs)
        {
            _uncleanDueMs = now + (long)_elections.UncleanCheckInterval.TotalMilliseconds;
            unclean = await _elections.ElectUncleanLeadersAsync(cancellationToken).ConfigureAwait(false);
        }

        return new ActiveControllerTickResult(fenced, rebalanced, unclean);
    }

    /// <summary>Leadership lost: the timers start afresh at the next activation.</summary>
    public void Deactivate()
    {
        _rebalanceDueMs = -1;
        _uncleanDueMs = -1;
        _uncleanSeen.Clear();
    }

    // Every topic is looked at (not just the first change) so the remembered values stay current.
    private bool UncleanTurnedOn(MetadataImage image)
    {
        var turnedOn = false;
        foreach (var topic in image.TopicsById.Values)
        {
            var enabled = _elections.UncleanEnabled(image, topic);
            if (enabled && !_uncleanSeen.GetValueOrDefault(topic.TopicId))
            {
                turnedOn = true;
            }

            _uncleanSeen[topic.TopicId] = enabled;
        }

        if (_uncleanSeen.Count > image.TopicsById.Count)
        {
            // Deleted topics: forget them.
            foreach (var id in _uncleanSeen.Keys.Where(id => !image.TopicsById.ContainsKey(id)).ToArray())
            {
                _uncleanSeen.Remove(id);
            }
        }

        return turnedOn;
    }
}
