using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Controller;

/// <summary>The outcome of an election for one partition. Immutable.</summary>
public sealed record PartitionElectionResult(string Topic, int Partition, ErrorCode Error, string? Message);

/// <summary>Leader balancing settings (Kafka's names and defaults).</summary>
public sealed record LeaderElectionOptions(
    bool AutoLeaderRebalanceEnable = true,
    int LeaderImbalanceCheckIntervalSeconds = 300,
    int LeaderImbalancePerBrokerPercentage = 10,
    bool UncleanLeaderElectionDefault = false,
    long UncleanLeaderElectionIntervalMs = 300_000)
{
    /// <summary>How often the host should call <see cref="LeaderElections.RebalanceAsync"/>.</summary>
    public TimeSpan CheckInterval => TimeSpan.FromSeconds(LeaderImbalanceCheckIntervalSeconds);

    /// <summary>How often the host should call <see cref="LeaderElections.ElectUncleanLeadersAsync"/>.</summary>
    public TimeSpan UncleanCheckInterval => TimeSpan.FromMilliseconds(UncleanLeaderElectionIntervalMs);
}

/// <summary>
/// Administrative elections: ElectLeaders (43) with Kafka's PREFERRED and UNCLEAN types and errors, the periodic
/// preferred-leader rebalance of <c>auto.leader.rebalance.enable</c> and the periodic unclean election of offline
/// partitions. Thread-safe: runs under the controller's mutex.
/// </summary>
public sealed class LeaderElections
{
    private readonly TopicController _controller;
    private readonly LeaderElectionOptions _options;

    public LeaderElections(TopicController controller, LeaderElectionOptions options)
    {
        _controller = controller;
        _options = options;
    }

    /// <summary>How often the host should call <see cref="RebalanceAsync"/> (<c>leader.imbalance.check.interval.seconds</c>).</summary>
    public TimeSpan CheckInterval => _options.CheckInterval;

    /// <summary>How often the host should call <see cref="ElectUncleanLeadersAsync"/> (<c>unclean.leader.election.interval.ms</c>).</summary>
    public TimeSpan UncleanCheckInterval => _options.UncleanCheckInterval;

    /// <summary>The topic's effective <c>unclean.leader.election.enable</c> (override, dynamic default, static default).</summary>
    internal bool UncleanEnabled(MetadataImage image, TopicInfo topic) =>
        PartitionElections.UncleanAllowed(image, topic, _options.UncleanLeaderElectionDefault);

    /// <summary>
    /// The periodic check of <c>unclean.leader.election.interval.ms</c> (Kafka's controller runs it every 5 minutes):
    /// offline partitions of topics whose effective <c>unclean.leader.election.enable</c> is true (for instance turned
    /// on after the partition went offline) elect a live out-of-sync replica. Returns the number of partitions elected.
    /// </summary>
    public Task<int> ElectUncleanLeadersAsync(CancellationToken cancellationToken) =>
        _controller.RunExclusiveAsync(async image =>
        {
            var acceptable = PartitionElections.AcceptableLeaders(image);
            var records = new List<IApiMessage>();
            foreach (var topic in image.TopicsById.Values)
            {
                if (!PartitionElections.UncleanAllowed(image, topic, _options.UncleanLeaderElectionDefault))
                {
                    continue;
                }

                foreach (var partition in topic.Partitions)
                {
                    if (partition.Leader == -1
                        && new PartitionChangeBuilder(topic.TopicId, partition, acceptable, uncleanAllowed: true).Build() is { Leader: >= 0 } change)
                    {
                        records.Add(change);
                    }
                }
            }

            if (records.Count > 0)
            {
                await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return records.Count;
        }, cancellationToken);

    /// <summary>
    /// Elects leaders for <paramref name="partitions"/>, or for every partition when null (then partitions that need no
    /// election are left out of the results, as in Kafka). PREFERRED: ELECTION_NOT_NEEDED when the preferred replica
    /// leads, PREFERRED_LEADER_NOT_AVAILABLE when it is not a live ISR member. UNCLEAN: ELECTION_NOT_NEEDED when the
    /// partition has a leader, ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live. All successful elections commit
    /// in one batch.
    /// </summary>
    public Task<IReadOnlyList<PartitionElectionResult>> ElectLeadersAsync(
        ElectionKind election, IReadOnlyList<(string Topic, int Partition)>? partitions, CancellationToken cancellationToken)
    {
        if (election == ElectionKind.Recommended)
        {
            throw new ArgumentOutOfRangeException(nameof(election), "ElectLeaders elects PREFERRED or UNCLEAN.");
        }

        return _controller.RunExclusiveAsync<IReadOnlyList<PartitionElectionResult>>(async image =>
        {
            var results = new List<PartitionElectionResult>();
            var records = new List<IApiMessage>();
            var acceptable = PartitionElections.AcceptableLeaders(image);
            if (partitions is null)
            {
                foreach (var topic in image.TopicsByName.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
                {
                    foreach (var partition in topic.Partitions)
                    {
                        var result = Elect(image, topic, partition, election, acceptable, records);
                        if (result.Error != ErrorCode.ElectionNotNeeded)
                        {
                            results.Add(result);
                        }
                    }
                }
            }
            else
            {
                var asked = new HashSet<(string, int)>();
                foreach (var (name, index) in partitions)
                {
                    if (!asked.Add((name, index)))
                    {
                        // Named twice: one election and one result, as Kafka's request handling dedups partitions.
                        continue;
                    }

                    if (!image.TopicsByName.TryGetValue(name, out var topic))
                    {
                        results.Add(new PartitionElectionResult(name, index, ErrorCode.UnknownTopicOrPartition, $"No such topic as {name}"));
                    }
                    else if ((uint)index >= (uint)topic.Partitions.Length)
                    {
                        results.Add(new PartitionElectionResult(name, index, ErrorCode.UnknownTopicOrPartition, $"No such partition as {name}-{index}"));
                    }
                    else
                    {
                        results.Add(Elect(image, topic, topic.Partitions[index], election, acceptable, records));
                    }
                }
            }

            if (records.Count > 0)
            {
                await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return results;
        }, cancellationToken);
    }

    private PartitionElectionResult Elect(
        MetadataImage image, TopicInfo topic, PartitionInfo partition, ElectionKind election, Func<int, bool> acceptable, List<IApiMessage> records)
    {
        var preferred = partition.Replicas[0];
        if (election == ElectionKind.Preferred && partition.Leader == preferred)
        {
            return new PartitionElectionResult(topic.Name, partition.Partition, ErrorCode.ElectionNotNeeded, "Leader election not needed for topic partition.");
        }

        if (election == ElectionKind.Unclean && partition.Leader != -1)
        {
            return new PartitionElectionResult(topic.Name, partition.Partition, ErrorCode.ElectionNotNeeded, "Leader election not needed for topic partition.");
        }

        // Messages are the default texts of Kafka's Errors, which its controller sends for these cases.
        var builder = new PartitionChangeBuilder(topic.TopicId, partition, acceptable,
            PartitionElections.UncleanAllowed(image, topic, _options.UncleanLeaderElectionDefault)).WithElection(election);
        var change = builder.Build();
        if (election == ElectionKind.Preferred && (change is null || builder.ElectedLeader != preferred))
        {
            return new PartitionElectionResult(topic.Name, partition.Partition, ErrorCode.PreferredLeaderNotAvailable,
                "The preferred leader was not available.");
        }

        if (change is null || builder.ElectedLeader == -1)
        {
            return new PartitionElectionResult(topic.Name, partition.Partition, ErrorCode.EligibleLeadersNotAvailable,
                "Eligible topic partition leaders are not available.");
        }

        records.Add(change);
        return new PartitionElectionResult(topic.Name, partition.Partition, ErrorCode.None, null);
    }

    /// <summary>
    /// The periodic leader-imbalance check: for each broker, the share of partitions it prefers (first replica) but does
    /// not lead; above <c>leader.imbalance.per.broker.percentage</c>, each of those partitions whose preferred replica
    /// is a live ISR member and that is not being reassigned gets it back as leader. (Kafka's KRaft controller balances
    /// whenever any partition is imbalanced and ignores the percentage; this follows the configured threshold as the ZK
    /// controller did.) Returns the number of partitions whose leader moved; 0 when the feature is off.
    /// </summary>
    public Task<int> RebalanceAsync(CancellationToken cancellationToken)
    {
        if (!_options.AutoLeaderRebalanceEnable)
        {
            return Task.FromResult(0);
        }

        return _controller.RunExclusiveAsync(async image =>
        {
            var preferredCount = new Dictionary<int, int>();
            var notLeading = new Dictionary<int, List<(TopicInfo Topic, PartitionInfo Partition)>>();
            foreach (var topic in image.TopicsById.Values)
            {
                foreach (var partition in topic.Partitions)
                {
                    var preferred = partition.Replicas[0];
                    preferredCount[preferred] = preferredCount.GetValueOrDefault(preferred) + 1;
                    if (partition.Leader != preferred)
                    {
                        if (!notLeading.TryGetValue(preferred, out var list))
                        {
                            notLeading[preferred] = list = [];
                        }

                        list.Add((topic, partition));
                    }
                }
            }

            var acceptable = PartitionElections.AcceptableLeaders(image);
            var records = new List<IApiMessage>();
            foreach (var (broker, imbalanced) in notLeading)
            {
                // Integer form of imbalanced / preferred > percentage / 100.
                if (imbalanced.Count * 100L <= (long)_options.LeaderImbalancePerBrokerPercentage * preferredCount[broker] || !acceptable(broker))
                {
                    continue;
                }

                foreach (var (topic, partition) in imbalanced)
                {
                    if (partition.IsReassigning || !partition.Isr.Contains(broker))
                    {
                        continue;
                    }

                    var change = new PartitionChangeBuilder(topic.TopicId, partition, acceptable, uncleanAllowed: false)
                        .WithElection(ElectionKind.Preferred)
                        .Build();
                    if (change is not null && change.Leader == broker)
                    {
                        records.Add(change);
                    }
                }
            }

            if (records.Count > 0)
            {
                await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return records.Count;
        }, cancellationToken);
    }
}
