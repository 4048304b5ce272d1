using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Raft;

/// <summary>
/// The error response of a forwardable admin request, with one entry per topic, resource or partition it named, as
/// Kafka's <c>AbstractRequest.getErrorResponse</c> builds them: what a broker answers when it could not forward the
/// request to an active controller (REQUEST_TIMED_OUT, retriable) or lost the leadership while handling it
/// (NOT_CONTROLLER, retriable). Stateless; thread-safe.
/// </summary>
internal static class ForwardingErrors
{
    /// <summary>The error response of <paramref name="apiKey"/> at the request's version; null for an API not forwarded.</summary>
    public static IApiMessage? Build(short apiKey, short version, ReadOnlyMemory<byte> body, ErrorCode error)
    {
        var code = (short)error;
        return apiKey switch
        {
            19 => CreateTopics(Decode<CreateTopicsRequest>(body, version), code),
            20 => DeleteTopics(Decode<DeleteTopicsRequest>(body, version), version, code),
            33 => AlterConfigs(Decode<AlterConfigsRequest>(body, version), code),
            37 => CreatePartitions(Decode<CreatePartitionsRequest>(body, version), code),
            43 => ElectLeaders(Decode<ElectLeadersRequest>(body, version), version, code),
            44 => IncrementalAlterConfigs(Decode<IncrementalAlterConfigsRequest>(body, version), code),
            45 => new AlterPartitionReassignmentsResponse { ErrorCode = code },
            64 => new UnregisterBrokerResponse { ErrorCode = code },
            80 => new AddRaftVoterResponse { ErrorCode = code, ErrorMessage = null },
            81 => new RemoveRaftVoterResponse { ErrorCode = code, ErrorMessage = null },
            _ => null,
        };
    }

    private static T Decode<T>(ReadOnlyMemory<byte> body, short version)
        where T : IApiMessage, new()
    {
        var request = new T();
        var reader = new KafkaReader(body);
        request.Read(ref reader, version);
        return request;
    }

    private static CreateTopicsResponse CreateTopics(CreateTopicsRequest request, short code)
    {
        var response = new CreateTopicsResponse();
        foreach (var topic in request.Topics)
        {
            response.Topics.Add(new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name, ErrorCode = code, NumPartitions = -1, ReplicationFactor = -1 });
        }

        return response;
    }

    private static DeleteTopicsResponse DeleteTopics(DeleteTopicsRequest request, short version, short code)
    {
        var response = new DeleteTopicsResponse();
        if (version >= 6)
        {
            foreach (var topic in request.Topics)
            {
                response.Responses.Add(new DeleteTopicsResponse.DeletableTopicResult { Name = topic.Name, TopicId = topic.TopicId, ErrorCode = code });
            }
        }
        else
        {
            foreach (var name in request.TopicNames)
            {
                response.Responses.Add(new DeleteTopicsResponse.DeletableTopicResult { Name = name, ErrorCode = code });
            }
        }

        return response;
    }

    private static AlterConfigsResponse AlterConfigs(AlterConfigsRequest request, short code)
    {
        var response = new AlterConfigsResponse();
        foreach (var resource in request.Resources)
        {
            response.Responses.Add(new AlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorCode = code,
            });
        }

        return response;
    }

    private static IncrementalAlterConfigsResponse IncrementalAlterConfigs(IncrementalAlterConfigsRequest request, short code)
    {
        var response = new IncrementalAlterConfigsResponse();
        foreach (var resource in request.Resources)
        {
            response.Responses.Add(new IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorCode = code,
            });
        }

        return response;
    }

    private static CreatePartitionsResponse CreatePartitions(CreatePartitionsRequest request, short code)
    {
        var response = new CreatePartitionsResponse();
        foreach (var topic in request.Topics)
        {
            response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = topic.Name, ErrorCode = code });
        }

        return response;
    }

    // v0 has no top-level error: every named partition carries it.
    private static ElectLeadersResponse ElectLeaders(ElectLeadersRequest request, short version, short code)
    {
        var response = new ElectLeadersResponse();
        if (version >= 1)
        {
            response.ErrorCode = code;
        }

        foreach (var topic in request.TopicPartitions ?? [])
        {
            var result = new ElectLeadersResponse.ReplicaElectionResult { Topic = topic.Topic };
            foreach (var partition in topic.Partitions)
            {
                result.PartitionResult.Add(new ElectLeadersResponse.PartitionResult { PartitionId = partition, ErrorCode = code });
            }

            response.ReplicaElectionResults.Add(result);
        }

        return response;
    }
}
