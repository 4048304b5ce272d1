using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>A topic to create, after request decoding. -1 partitions / replication factor mean "broker default".</summary>
public sealed record NewTopic(
    string Name,
    int NumPartitions,
    short ReplicationFactor,
    IReadOnlyDictionary<int, IReadOnlyList<int>>? Assignments,
    IReadOnlyDictionary<string, string?> Configs);

/// <summary>Partitions to add to a topic: <paramref name="Count"/> is the new total, as in Kafka.</summary>
public sealed record NewPartitions(string Name, int Count, IReadOnlyList<IReadOnlyList<int>>? Assignments);

/// <summary>Result for one topic of a create or delete call.</summary>
public sealed record TopicResult(
    string Name,
    Guid TopicId,
    ErrorCode Error,
    string? Message,
    int NumPartitions = -1,
    short ReplicationFactor = -1);

/// <summary>Defaults and checks the controller applies to topic creation.</summary>
public sealed record TopicControllerOptions(int DefaultPartitions, short DefaultReplicationFactor, bool DeleteTopicEnable)
{
    /// <summary>Validates topic-level configs; returns null when valid, else a message naming the key.</summary>
    public Func<IReadOnlyDictionary<string, string?>, string?> ValidateConfigs { get; init; } = static _ => null;

    /// <summary>Source of topic ids and broker incarnation ids (injected so tests and simulations are deterministic).</summary>
    public Func<Guid> NewGuid { get; init; } = Guid.NewGuid;

    /// <summary>
    /// On a KRaft node: creates the topics at the active controller when that is another node (Kafka's brokers send
    /// CreateTopics to the controller for auto-created and internal topics); returns null when this node is to create
    /// them itself. Null: this node is always the controller.
    /// </summary>
    public Func<IReadOnlyList<NewTopic>, bool, CancellationToken, Task<IReadOnlyList<TopicResult>?>>? CreateElsewhere { get; init; }

    /// <summary>Randomness of replica placement (<see cref="ReplicaPlacer"/>); seeded in tests. Used under the controller's mutex.</summary>
    public Random PlacementRandom { get; init; } = Random.Shared;
}

/// <summary>
/// Controller-side topic management: validates create/delete requests against the current image and
/// commits TopicRecord / PartitionRecord / ConfigRecord / RemoveTopicRecord batches, like Kafka's
/// ReplicationControlManager. Mutations are serialised so concurrent creates of one name cannot both win.
/// Thread-safe.
/// </summary>
public sealed partial class TopicController
{
    /// <summary>Kafka's cap on partitions created by one request (QuorumController's records-per-operation bound).</summary>
    public const int MaxPartitionsPerRequest = 10_000;

    private readonly IMetadataStore _store;
    private readonly TopicControllerOptions _options;
    private readonly SemaphoreSlim _mutex = new(1, 1);

    public TopicController(IMetadataStore store, TopicControllerOptions options)
    {
        _store = store;
        _options = options;
    }

    public async Task<IReadOnlyList<TopicResult>> CreateTopicsAsync(
        IReadOnlyList<NewTopic> topics, bool validateOnly, CancellationToken cancellationToken)
    {
        if (_options.CreateElsewhere is { } forward && await forward(topics, validateOnly, cancellationToken).ConfigureAwait(false) is { } forwarded)
        {
            return forwarded;
        }

        await _mutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var image = _store.Image;
            var results = new List<TopicResult>(topics.Count);
            var records = new List<IApiMessage>();
            var pending = new HashSet<string>(StringComparer.Ordinal);
            var partitionsLeft = MaxPartitionsPerRequest;
            foreach (var topic in topics)
            {
                var requested = topic.Assignments is { Count: > 0 } manual ? manual.Count : topic.NumPartitions == -1 ? _options.DefaultPartitions : topic.NumPartitions;
                if (requested > partitionsLeft)
                {
                    results.Add(new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidPartitions,
                        $"Excessively large number of partitions per request: at most {MaxPartitionsPerRequest} may be created at once."));
                    continue;
                }

                var result = Plan(image, topic, pending, validateOnly ? null : records);
                results.Add(result);
                if (result.Error == ErrorCode.None)
                {
                    pending.Add(topic.Name);
                    partitionsLeft -= result.NumPartitions;
                }
            }

            if (records.Count > 0)
            {
                await _store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return results;
        }
        finally
        {
            _mutex.Release();
        }
    }

    private TopicResult Plan(MetadataImage image, NewTopic topic, HashSet<string> pending, List<IApiMessage>? records)
    {
        if (TopicNames.Validate(topic.Name) is { } invalid)
        {
            return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidTopicException, invalid);
        }

        if (image.TopicsByName.ContainsKey(topic.Name) || pending.Contains(topic.Name))
        {
            return new TopicResult(topic.Name, Guid.Empty, ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists.");
        }

        foreach (var existing in image.TopicsByName.Keys)
        {
            if (TopicNames.Collides(existing, topic.Name))
            {
                return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidTopicException,
                    $"Topic '{topic.Name}' collides with existing topic: {existing}");
            }
        }

        if (_options.ValidateConfigs(topic.Configs) is { } configError)
        {
            return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidConfig, configError);
        }

        var liveBrokers = LiveBrokers(image);
        List<int[]> assignment;
        if (topic.Assignments is { Count: > 0 } manual)
        {
            if (topic.NumPartitions != -1 || topic.ReplicationFactor != -1)
            {
                return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidRequest,
                    "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
            }

            if (ValidateManual(manual, liveBrokers, out assignment) is { } assignmentError)
            {
                return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidReplicaAssignment, assignmentError);
            }
        }
        else
        {
            var partitions = topic.NumPartitions == -1 ? _options.DefaultPartitions : topic.NumPartitions;
            var replicationFactor = topic.ReplicationFactor == -1 ? _options.DefaultReplicationFactor : topic.ReplicationFactor;
            if (partitions <= 0)
            {
                return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidPartitions,
                    "Number of partitions was set to an invalid non-positive value.");
            }

            if (replicationFactor <= 0)
            {
                return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidReplicationFactor,
                    "Replication factor must be larger than 0, or -1 to use the default value.");
            }

            if (ReplicaPlacer.TryPlace(image.Brokers.Values, partitions, replicationFactor, _options.PlacementRandom, out assignment) is { } placementError)
            {
                return new TopicResult(topic.Name, Guid.Empty, ErrorCode.InvalidReplicationFactor, placementError);
            }
        }

        var topicId = _options.NewGuid();
        if (records is not null)
        {
            records.Add(new TopicRecord { Name = topic.Name, TopicId = topicId });
            foreach (var (name, value) in topic.Configs)
            {
                if (value is not null)
                {
                    records.Add(new ConfigRecord
                    {
                        ResourceType = MetadataImageBuilder.TopicResource,
                        ResourceName = topic.Name,
                        Name = name,
                        Value = value,
                    });
                }
            }

            AddPartitionRecords(records, topicId, 0, assignment);
        }

        return new TopicResult(topic.Name, topicId, ErrorCode.None, null, assignment.Count, (short)assignment[0].Length);
    }

    // New partitions start with every replica in the ISR and the first replica leading, at epoch 0.
    private static void AddPartitionRecords(List<IApiMessage> records, Guid topicId, int firstPartition, List<int[]> assignment)
    {
        for (var i = 0; i < assignment.Count; i++)
        {
            var replicas = assignment[i];
            records.Add(new PartitionRecord
            {
                PartitionId = firstPartition + i,
                TopicId = topicId,
                Replicas = [.. replicas],
                Isr = [.. replicas],
                Leader = replicas[0],
                LeaderEpoch = 0,
                PartitionEpoch = 0,
            });
        }
    }

    private static int[] LiveBrokers(MetadataImage image)
    {
        var live = new List<int>();
        foreach (var (id, broker) in image.Brokers)
        {
            if (!broker.Fenced)
            {
                live.Add(id);
            }
        }

        return [.. live];
    }

    private static string? ValidateManual(IReadOnlyDictionary<int, IReadOnlyList<int>> manual, int[] live, out List<int[]> assignment)
    {
        assignment = [];
        int? replicationFactor = null;
        for (var p = 0; p < manual.Count; p++)
        {
            if (!manual.TryGetValue(p, out var replicas))
            {
                return "partitions should be a consecutive 0-based integer sequence";
            }

            if (replicas.Count == 0)
            {
                return $"The manual partition assignment includes an empty replica list for partition {p}.";
            }

            if (replicationFactor is { } rf && rf != replicas.Count)
            {
                return "The manual partition assignment includes a partition with a different replication factor.";
            }

            replicationFactor = replicas.Count;
            var seen = new HashSet<int>();
            foreach (var broker in replicas)
            {
                if (!seen.Add(broker))
                {
                    return $"The manual partition assignment includes the broker {broker} more than once.";
                }

                if (Array.IndexOf(live, broker) < 0)
                {
                    return $"The manual partition assignment includes broker {broker}, but no such broker is registered.";
                }
            }

            assignment.Add([.. replicas]);
        }

        return null;
    }

    /// <summary>CreatePartitions: grows topics to a new partition count, never shrinks them.</summary>
    public async Task<IReadOnlyList<TopicResult>> CreatePartitionsAsync(
        IReadOnlyList<NewPartitions> requests, bool validateOnly, CancellationToken cancellationToken)
    {
        await _mutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var image = _store.Image;
            var results = new List<TopicResult>(requests.Count);
            var records = new List<IApiMessage>();
            var partitionsLeft = MaxPartitionsPerRequest;
            foreach (var request in requests)
            {
                var result = PlanPartitions(image, request, ref partitionsLeft, _options.PlacementRandom, validateOnly ? null : records);
                results.Add(result);
            }

            if (records.Count > 0)
            {
                await _store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return results;
        }
        finally
        {
            _mutex.Release();
        }
    }

    private static TopicResult PlanPartitions(MetadataImage image, NewPartitions request, ref int partitionsLeft, Random random, List<IApiMessage>? records)
    {
        if (!image.TopicsByName.TryGetValue(request.Name, out var topic))
        {
            return new TopicResult(request.Name, Guid.Empty, ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
        }

        var current = topic.Partitions.Length;
        if (request.Count < current)
        {
            return new TopicResult(request.Name, topic.TopicId, ErrorCode.InvalidPartitions,
                $"Topic currently has {current} partitions, which is higher than the requested {request.Count}.");
        }

        if (request.Count == current)
        {
            return new TopicResult(request.Name, topic.TopicId, ErrorCode.InvalidPartitions, $"Topic already has {current} partitions.");
        }

        var added = request.Count - current;
        if (added > partitionsLeft)
        {
            return new TopicResult(request.Name, topic.TopicId, ErrorCode.InvalidPartitions,
                $"Excessively large number of partitions per request: at most {MaxPartitionsPerRequest} may be created at once.");
        }

        var replicationFactor = topic.Partitions.Length > 0 ? topic.Partitions[0].Replicas.Length : 1;
        var live = LiveBrokers(image);
        List<int[]> assignment;
        if (request.Assignments is { } manual)
        {
            if (manual.Count != added)
            {
                return new TopicResult(request.Name, topic.TopicId, ErrorCode.InvalidReplicaAssignment,
                    $"Attempted to add {added} additional partition(s), but only {manual.Count} assignment(s) were specified.");
            }

            var byIndex = new Dictionary<int, IReadOnlyList<int>>(manual.Count);
            for (var i = 0; i < manual.Count; i++)
            {
                if (manual[i].Count != replicationFactor)
                {
                    return new TopicResult(request.Name, topic.TopicId, ErrorCode.InvalidReplicaAssignment,
                        $"The manual partition assignment includes a partition with {manual[i].Count} replica(s), but this topic's replication factor is {replicationFactor}.");
                }

                byIndex[i] = manual[i];
            }

            if (ValidateManual(byIndex, live, out assignment) is { } error)
            {
                return new TopicResult(request.Name, topic.TopicId, ErrorCode.InvalidReplicaAssignment, error);
            }
        }
        else
        {
            if (ReplicaPlacer.TryPlace(image.Brokers.Values, added, replicationFactor, random, out assignment) is { } placementError)
            {
                return new TopicResult(request.Name, topic.TopicId, ErrorCode.InvalidReplicationFactor, placementError);
            }
        }

        partitionsLeft -= added;
        if (records is not null)
        {
            AddPartitionRecords(records, topic.TopicId, current, assignment);
        }

        return new TopicResult(request.Name, topic.TopicId, ErrorCode.None, null, request.Count, (short)replicationFactor);
    }

    public async Task<IReadOnlyList<TopicResult>> DeleteTopicsAsync(
        IReadOnlyList<(string? Name, Guid Id)> topics, CancellationToken cancellationToken)
    {
        await _mutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var image = _store.Image;
            var results = new List<TopicResult>(topics.Count);
            var records = new List<IApiMessage>();
            var removed = new HashSet<Guid>();
            foreach (var (name, id) in topics)
            {
                TopicInfo? topic = null;
                var found = name is not null ? image.TopicsByName.TryGetValue(name, out topic) : image.TopicsById.TryGetValue(id, out topic);
                if (!_options.DeleteTopicEnable)
                {
                    results.Add(new TopicResult(name ?? topic?.Name ?? string.Empty, id, ErrorCode.TopicDeletionDisabled, "Topic deletion is disabled."));
                }
                else if (!found || topic is null)
                {
                    var error = name is null ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition;
                    results.Add(new TopicResult(name ?? string.Empty, id, error, name is null ? "Unknown topic id." : "This server does not host this topic-partition."));
                }
                else
                {
                    if (removed.Add(topic.TopicId))
                    {
                        records.Add(new RemoveTopicRecord { TopicId = topic.TopicId });
                    }

                    results.Add(new TopicResult(topic.Name, topic.TopicId, ErrorCode.None, null));
                }
            }

            if (records.Count > 0)
            {
                await _store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return results;
        }
        finally
        {
            _mutex.Release();
        }
    }

    /// <summary>
    /// Registers (or re-registers) a broker unfenced at once, with no session: for test fixtures (brokers sharing one
    /// in-process store, handler harnesses). A running node, a sole voter included, registers through <see cref="BrokerLifecycle"/>.
    /// Returns the broker epoch.
    /// </summary>
    public async Task<long> RegisterBrokerAsync(int nodeId, IReadOnlyList<BrokerEndpoint> endpoints, string? rack, CancellationToken cancellationToken)
    {
        var record = new RegisterBrokerRecord { BrokerId = nodeId, IncarnationId = _options.NewGuid(), Rack = rack, Fenced = false };
        foreach (var endpoint in endpoints)
        {
            record.EndPoints.Add(new RegisterBrokerRecord.BrokerEndpoint
            {
                Name = endpoint.ListenerName,
                Host = endpoint.Host,
                Port = (ushort)endpoint.Port,
                SecurityProtocol = endpoint.SecurityProtocol,
            });
        }

        await _mutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // KRaft's broker epoch is the offset of the registration record (the next one, as it is committed alone), and
            // at least the previous registration's + 1. The record carries it, so the image and the caller agree.
            var image = _store.Image;
            var previous = image.Brokers.TryGetValue(nodeId, out var existing) ? existing.Epoch : -1;
            record.BrokerEpoch = Math.Max(image.Offset + 1, previous + 1);
            await _store.CommitAsync([record], cancellationToken).ConfigureAwait(false);
            return record.BrokerEpoch;
        }
        finally
        {
            _mutex.Release();
        }
    }
}
