using System.Collections.Frozen;
using System.Collections.Immutable;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Cluster.Replication;

/// <summary>Settings of the replica manager. Immutable.</summary>
/// <param name="ReplicaLagTimeMaxMs">replica.lag.time.max.ms.</param>
/// <param name="AlterPartition">How ISR changes reach the controller (the local one, or AlterPartition over the network); null
/// refuses every change.</param>
public sealed record ReplicaManagerOptions(
    long ReplicaLagTimeMaxMs,
    TimeProvider Time,
    Func<AlterIsrRequest, CancellationToken, Task<AlterIsrResult>>? AlterPartition);

/// <summary>
/// Keeps the partitions this broker hosts in step with the metadata image: creates logs for new
/// replicas, deletes logs of removed topics, applies leadership and config changes. Request handlers
/// look partitions up in an immutable snapshot swapped on every image, so lookups take no lock.
/// Thread-safe; image updates are applied one at a time.
/// </summary>
public sealed partial class ReplicaManager
{
    private const int ProposalRetryMs = 100;
    private const int ProposalRetryMaxMs = 1000;

    private readonly int _nodeId;
    private readonly LogManager _logs;
    private readonly Func<MetadataImage, TopicInfo, LogConfig> _configFor;
    private readonly ReplicaManagerOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _updateLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private Snapshot _snapshot = Snapshot.Empty;
    private ImmutableSortedDictionary<int, BrokerInfo>? _brokers;
    private IFollowerFetching? _fetchers;

    /// <param name="configFor">The effective log config of a topic in an image (its overrides over the broker's static and dynamic defaults).</param>
    public ReplicaManager(int nodeId, LogManager logs, Func<MetadataImage, TopicInfo, LogConfig> configFor, ReplicaManagerOptions options,
        ILogger<ReplicaManager> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _nodeId = nodeId;
        _logs = logs;
        _configFor = configFor;
        _options = options;
        _logger = logger;
    }

    /// <summary>
    /// The fetchers that pull follower partitions from their leaders. Set once by the host before images that make this
    /// broker a follower matter; without it follower partitions are only marked not-leader (single-node brokers).
    /// </summary>
    public void AttachFetchers(IFollowerFetching fetchers)
    {
        ArgumentNullException.ThrowIfNull(fetchers);
        lock (_updateLock)
        {
            _fetchers = fetchers;
            var follow = new List<FollowerAssignment>();
            foreach (var partition in All())
            {
                if (!partition.IsLeader && partition.LeaderId >= 0)
                {
                    follow.Add(new FollowerAssignment(partition, partition.LeaderId, partition.LeaderEpoch));
                }
            }

            if (follow.Count > 0)
            {
                fetchers.Follow(follow);
            }
        }
    }

    private sealed record Snapshot(FrozenDictionary<string, Partition[]> ByName, FrozenDictionary<Guid, Partition[]> ById)
    {
        public static readonly Snapshot Empty = new(
            FrozenDictionary<string, Partition[]>.Empty,
            FrozenDictionary<Guid, Partition[]>.Empty);
    }

    public Partition? Get(string topic, int partition)
    {
        var byName = Volatile.Read(ref _snapshot).ByName;
        return byName.TryGetValue(topic, out var partitions) && (uint)partition < (uint)partitions.Length ? partitions[partition] : null;
    }

    public Partition? Get(Guid topicId, int partition)
    {
        var byId = Volatile.Read(ref _snapshot).ById;
        return byId.TryGetValue(topicId, out var partitions) && (uint)partition < (uint)partitions.Length ? partitions[partition] : null;
    }

    public bool HostsTopic(Guid topicId) => Volatile.Read(ref _snapshot).ById.ContainsKey(topicId);

    public IEnumerable<Partition> All()
    {
        foreach (var partitions in Volatile.Read(ref _snapshot).ByName.Values)
        {
            foreach (var partition in partitions)
            {
                if (partition is not null)
                {
                    yield return partition;
                }
            }
        }
    }

    /// <summary>Applies a new metadata image. Called in commit order by the metadata store.</summary>
    public void Apply(MetadataImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        Volatile.Write(ref _brokers, image.Brokers);
        lock (_updateLock)
        {
            var previous = _snapshot;
            var follow = new List<FollowerAssignment>();
            var unfollow = new List<Partition>();
            var deleted = new List<Partition>();
            var byName = new Dictionary<string, Partition[]>(StringComparer.Ordinal);
            var byId = new Dictionary<Guid, Partition[]>();
            foreach (var topic in image.TopicsById.Values)
            {
                previous.ById.TryGetValue(topic.TopicId, out var existing);
                var config = _configFor(image, topic);
                var partitions = new Partition[topic.Partitions.Length];
                var hostsAny = false;
                for (var i = 0; i < topic.Partitions.Length; i++)
                {
                    var info = topic.Partitions[i];
                    if (!info.Replicas.Contains(_nodeId))
                    {
                        if (existing is not null && i < existing.Length && existing[i] is { } reassignedAway)
                        {
                            // A reassignment moved this replica elsewhere: as Kafka's applyDelta, it stops leading and
                            // fetching and its log is deleted.
                            reassignedAway.ApplyNotLeader(info);
                            deleted.Add(reassignedAway);
                        }

                        continue;
                    }

                    var known = existing is not null && i < existing.Length ? existing[i] : null;
                    var partition = known ?? new Partition(topic.Name, topic.TopicId, info.Partition, _logs.GetOrCreateLog(topic.Name, info.Partition, topic.TopicId, config), config);
                    if (partition.Config != config)
                    {
                        // A dynamic topic or broker config change: the log's own rules (roll, retention, flush) follow it too.
                        partition.Log.UpdateConfig(config);
                    }

                    partition.Config = config;
                    var (wasLeader, oldLeader, oldEpoch) = (partition.IsLeader, partition.LeaderId, partition.LeaderEpoch);
                    if (info.Leader == _nodeId)
                    {
                        if (!wasLeader && known is not null)
                        {
                            // As Kafka's applyLocalLeadersDelta: no follower append may race the new epoch's start offset.
                            _fetchers?.Unfollow([partition]);
                        }

                        partition.ApplyLeadership(_nodeId, info, _options.ReplicaLagTimeMaxMs, _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
                    }
                    else
                    {
                        partition.ApplyNotLeader(info);
                        if (info.Leader < 0)
                        {
                            unfollow.Add(partition);
                        }
                        else if (known is null || wasLeader || oldLeader != info.Leader || oldEpoch != info.LeaderEpoch)
                        {
                            // Kafka's makeFollower: a new leader or epoch restarts fetching from the log end.
                            follow.Add(new FollowerAssignment(partition, info.Leader, info.LeaderEpoch));
                        }
                    }
                    partitions[i] = partition;
                    hostsAny = true;
                }

                if (hostsAny)
                {
                    byName[topic.Name] = partitions;
                    byId[topic.TopicId] = partitions;
                }
            }

            Volatile.Write(ref _snapshot, new Snapshot(byName.ToFrozenDictionary(StringComparer.Ordinal), byId.ToFrozenDictionary()));

            foreach (var (topicId, partitions) in previous.ById)
            {
                if (!image.TopicsById.ContainsKey(topicId))
                {
                    foreach (var partition in partitions)
                    {
                        if (partition is not null)
                        {
                            deleted.Add(partition);
                        }
                    }
                }
            }

            unfollow.AddRange(deleted);

            // Fetchers let go of partitions before their logs are deleted, and follow in image order (under the lock).
            if (_fetchers is { } fetchers)
            {
                if (unfollow.Count > 0)
                {
                    fetchers.Unfollow(unfollow);
                }

                if (follow.Count > 0)
                {
                    fetchers.Follow(follow);
                }
            }

            foreach (var partition in deleted)
            {
                LogDeletingPartition(partition.Topic, partition.Index);
                _logs.DeleteLog(partition.Topic, partition.Index);
            }
        }
    }

    /// <summary>
    /// Records a follower's fetch on a partition this broker leads; an ISR expansion it makes possible is proposed to
    /// the controller in the background.
    /// </summary>
    public void OnFollowerFetch(Partition partition, int replicaId, long fetchOffset, long followerLogStartOffset, long brokerEpoch)
    {
        ArgumentNullException.ThrowIfNull(partition);
        var change = partition.OnFollowerFetch(replicaId, fetchOffset, followerLogStartOffset, brokerEpoch, _options.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            IsIsrEligible(replicaId));
        if (change is not null)
        {
            _ = ProposeAsync(partition, change);
        }
    }

    /// <summary>
    /// Kafka's isr-expiration task: every led partition whose in-sync followers fell behind for replica.lag.time.max.ms
    /// proposes the ISR without them. Returns how many proposals were made. Called periodically by the host.
    /// </summary>
    public int CheckIsrShrink()
    {
        var nowMs = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var proposed = 0;
        foreach (var partition in All())
        {
            if (partition.IsLeader && partition.Replicas is { } set && set.CheckShrink(partition.Log.LogEndOffset, nowMs) is { } change)
            {
                proposed++;
                _ = ProposeAsync(partition, change);
            }
        }

        return proposed;
    }

    // KIP-841: a fenced broker, or one in controlled shutdown, cannot join the ISR; the controller would refuse it
    // (INELIGIBLE_REPLICA) and the next fetch would ask again. Without an image yet (tests), every replica is eligible.
    private bool IsIsrEligible(int replicaId) =>
        Volatile.Read(ref _brokers) is not { } brokers
        || (brokers.TryGetValue(replicaId, out var broker) && !broker.Fenced && !broker.InControlledShutdown);

    /// <summary>Ends the retries of ISR proposals (the broker is stopping).</summary>
    public void StopProposals() => _stopping.Cancel();

    private async Task ProposeAsync(Partition partition, IsrChange change)
    {
        var set = partition.Replicas;
        if (_options.AlterPartition is not { } alter)
        {
            set?.OnIsrChangeFailed();
            return;
        }

        LogIsrChangeProposed(partition.Topic, partition.Index, string.Join(',', change.NewIsr), change.LeaderEpoch, change.PartitionEpoch);
        var request = new AlterIsrRequest(partition.TopicId, partition.Index, _nodeId, change.LeaderEpoch, change.PartitionEpoch, change.NewIsr);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var result = await alter(request, _stopping.Token).ConfigureAwait(false);
                if (result.Error == ErrorCode.None)
                {
                    return;
                }

                LogIsrChangeRefused(partition.Topic, partition.Index, result.Error);
                switch (result.Error)
                {
                    case ErrorCode.FencedLeaderEpoch or ErrorCode.InvalidUpdateVersion:
                        // The controller has already moved on (a new leader, or a reassignment completed): as Kafka, the
                        // proposal stays pending until that image arrives, so the high watermark never advances over the
                        // smaller committed ISR meanwhile and acknowledges what a new leader lacks.
                        return;
                    case ErrorCode.OperationNotAttempted or ErrorCode.IneligibleReplica or ErrorCode.UnknownTopicOrPartition
                        or ErrorCode.NewLeaderElected or ErrorCode.InvalidRequest:
                        // Refused for good: back to the committed ISR; a later check may propose again.
                        set?.OnIsrChangeFailed();
                        return;
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A background proposal: any failure is logged and the proposal retried.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogIsrChangeFailed(partition.Topic, partition.Index, e);
            }

            // The controller unreachable, moving, or timing out: the proposal may or may not have been committed, so it
            // stays pending (the high watermark keeps counting the larger ISR) and is sent again, as Kafka's
            // AlterPartitionManager does, until an answer or an image settles it.
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(ProposalRetryMaxMs, ProposalRetryMs << Math.Min(attempt, 4))), _options.Time, _stopping.Token)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!ReferenceEquals(partition.Replicas, set) || set is null || !ReferenceEquals(set.Pending, change))
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Proposing ISR {Isr} for {Topic}-{Partition} (leader epoch {LeaderEpoch}, partition epoch {PartitionEpoch})")]
    private partial void LogIsrChangeProposed(string topic, int partition, string isr, int leaderEpoch, int partitionEpoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "The controller refused the ISR change of {Topic}-{Partition}: {Error}")]
    private partial void LogIsrChangeRefused(string topic, int partition, ErrorCode error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ISR change of {Topic}-{Partition} failed; sending it again")]
    private partial void LogIsrChangeFailed(string topic, int partition, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleting log of removed partition {Topic}-{Partition}")]
    private partial void LogDeletingPartition(string topic, int partition);
}
