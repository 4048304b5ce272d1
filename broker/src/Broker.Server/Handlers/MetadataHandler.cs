using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Dispatch;

namespace Broker.Server.Handlers;

/// <summary>
/// Metadata (3): brokers on the client's listener, cluster id, controller, and the requested topics
/// (all when the list is null, or empty at v0), auto-creating unknown topics when
/// auto.create.topics.enable and the request allow it. Thread-safe.
/// </summary>
internal sealed class MetadataHandler : ApiHandler<MetadataRequest, MetadataResponse>
{
    private readonly BrokerServices _services;

    public MetadataHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 3;

    public override short MinVersion => 0;

    public override short MaxVersion => 12;

    protected override async ValueTask<MetadataResponse?> HandleAsync(RequestContext context, MetadataRequest request, CancellationToken cancellationToken)
    {
        var image = _services.Metadata.Image;
        var allTopics = request.Topics is null || (context.ApiVersion == 0 && request.Topics.Count == 0);
        var allowAutoCreate = _services.Options.AutoCreateTopicsEnable && (context.ApiVersion < 4 || request.AllowAutoTopicCreation);

        if (!allTopics && allowAutoCreate)
        {
            image = await AutoCreateAsync(image, request.Topics!, cancellationToken).ConfigureAwait(false);
        }

        var response = new MetadataResponse
        {
            ClusterId = image.ClusterId,
            ControllerId = _services.ControllerId,
            ClusterAuthorizedOperations = request.IncludeClusterAuthorizedOperations ? AuthorizedOperations.AllOnCluster : AuthorizedOperations.NotRequested,
        };
        AddBrokers(response, image, context.ListenerName);

        if (allTopics)
        {
            foreach (var topic in image.TopicsByName.Values)
            {
                response.Topics.Add(Describe(image, context.ListenerName, topic, request.IncludeTopicAuthorizedOperations));
            }

            response.Topics.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            return response;
        }

        foreach (var requested in request.Topics!)
        {
            // Versions 10 and 11 carry topic ids but Kafka resolves them only from v12; names must be set.
            response.Topics.Add(context.ApiVersion < 12 && (requested.Name is null || requested.TopicId != Guid.Empty)
                ? Error(requested.Name ?? string.Empty, Guid.Empty, ErrorCode.InvalidRequest)
                : DescribeRequested(image, context.ListenerName, requested, request.IncludeTopicAuthorizedOperations));
        }

        return response;
    }

    private async ValueTask<MetadataImage> AutoCreateAsync(MetadataImage image, List<MetadataRequest.MetadataRequestTopic> requested, CancellationToken cancellationToken)
    {
        List<NewTopic>? missing = null;
        foreach (var topic in requested)
        {
            if (topic.Name is { } name && !image.TopicsByName.ContainsKey(name) && TopicNames.Validate(name) is null)
            {
                (missing ??= []).Add(new NewTopic(name, -1, -1, null, new Dictionary<string, string?>()));
            }
        }

        if (missing is null)
        {
            return image;
        }

        // Races with other creators are fine: the loser sees TOPIC_ALREADY_EXISTS and the topic exists.
        await _services.Topics.CreateTopicsAsync(missing, validateOnly: false, cancellationToken).ConfigureAwait(false);
        return _services.Metadata.Image;
    }

    private static void AddBrokers(MetadataResponse response, MetadataImage image, string listenerName)
    {
        foreach (var broker in image.Brokers.Values)
        {
            if (broker.Fenced || broker.EndpointFor(listenerName) is not { } endpoint)
            {
                continue;
            }

            response.Brokers.Add(new MetadataResponse.MetadataResponseBroker
            {
                NodeId = broker.NodeId,
                Host = endpoint.Host,
                Port = endpoint.Port,
                Rack = broker.Rack,
            });
        }
    }

    private static MetadataResponse.MetadataResponseTopic DescribeRequested(MetadataImage image, string listenerName, MetadataRequest.MetadataRequestTopic requested, bool includeOperations)
    {
        TopicInfo? topic;
        if (requested.Name is { } name)
        {
            if (TopicNames.Validate(name) is not null)
            {
                return Error(name, requested.TopicId, ErrorCode.InvalidTopicException);
            }

            if (!image.TopicsByName.TryGetValue(name, out topic))
            {
                return Error(name, requested.TopicId, ErrorCode.UnknownTopicOrPartition);
            }
        }
        else if (!image.TopicsById.TryGetValue(requested.TopicId, out topic))
        {
            return Error(null, requested.TopicId, ErrorCode.UnknownTopicId);
        }

        return Describe(image, listenerName, topic, includeOperations);
    }

    private static MetadataResponse.MetadataResponseTopic Error(string? name, Guid topicId, ErrorCode error) => new()
    {
        Name = name,
        TopicId = topicId,
        ErrorCode = (short)error,
        TopicAuthorizedOperations = AuthorizedOperations.NotRequested,
    };

    private static MetadataResponse.MetadataResponseTopic Describe(MetadataImage image, string listenerName, TopicInfo topic, bool includeOperations)
    {
        var result = new MetadataResponse.MetadataResponseTopic
        {
            Name = topic.Name,
            TopicId = topic.TopicId,
            IsInternal = topic.IsInternal,
            TopicAuthorizedOperations = includeOperations ? AuthorizedOperations.AllOnTopic : AuthorizedOperations.NotRequested,
        };
        foreach (var partition in topic.Partitions)
        {
            result.Partitions.Add(new MetadataResponse.MetadataResponsePartition
            {
                ErrorCode = (short)(partition.Leader < 0 ? ErrorCode.LeaderNotAvailable : ErrorCode.None),
                PartitionIndex = partition.Partition,
                LeaderId = partition.Leader,
                LeaderEpoch = partition.LeaderEpoch,
                ReplicaNodes = [.. partition.Replicas],
                IsrNodes = [.. partition.Isr],
                OfflineReplicas = OfflineReplicas(image, listenerName, partition),
            });
        }

        return result;
    }

    /// <summary>
    /// Kafka's offline replicas (KRaftMetadataCache.getOfflineReplicas): those whose broker is not registered, is fenced,
    /// or has no endpoint on the listener the client came in on.
    /// </summary>
    internal static List<int> OfflineReplicas(MetadataImage image, string listenerName, PartitionInfo partition)
    {
        List<int>? offline = null;
        foreach (var replica in partition.Replicas)
        {
            if (!image.Brokers.TryGetValue(replica, out var broker) || broker.Fenced || broker.EndpointFor(listenerName) is null)
            {
                (offline ??= []).Add(replica);
            }
        }

        return offline ?? [];
    }
}
