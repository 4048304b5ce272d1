using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Raft;

/// <summary>
/// Topic creation a KRaft node needs on its own behalf (auto-created topics, <c>__consumer_offsets</c>,
/// <c>__transaction_state</c>): when another node leads the quorum, a CreateTopics request (v7) goes to that controller,
/// as Kafka's brokers send it; when this node leads, or none is known, the local controller creates (or refuses) them.
/// Thread-safe.
/// </summary>
internal sealed class TopicCreationForwarder
{
    private readonly RaftNetworkDriver _quorum;
    private readonly int _nodeId;

    public TopicCreationForwarder(RaftNetworkDriver quorum, int nodeId)
    {
        _quorum = quorum;
        _nodeId = nodeId;
    }

    /// <summary>The controller's results, or null when the local controller is to handle the request.</summary>
    public async Task<IReadOnlyList<TopicResult>?> CreateAsync(IReadOnlyList<NewTopic> topics, bool validateOnly, CancellationToken cancellationToken)
    {
        var leader = _quorum.LeaderId;
        if (leader < 0 || leader == _nodeId)
        {
            return null;
        }

        var request = new CreateTopicsRequest { TimeoutMs = 30_000, ValidateOnly = validateOnly };
        foreach (var topic in topics)
        {
            var creatable = new CreateTopicsRequest.CreatableTopic { Name = topic.Name, NumPartitions = topic.NumPartitions, ReplicationFactor = topic.ReplicationFactor };
            foreach (var (partition, brokers) in topic.Assignments ?? new Dictionary<int, IReadOnlyList<int>>())
            {
                creatable.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = partition, BrokerIds = [.. brokers] });
            }

            foreach (var (name, value) in topic.Configs)
            {
                creatable.Configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = name, Value = value });
            }

            request.Topics.Add(creatable);
        }

        using var response = await _quorum.ForwardingConnectionTo(leader).SendAsync<CreateTopicsResponse>(request, 7, cancellationToken).ConfigureAwait(false);
        var results = new List<TopicResult>(response.Message.Topics.Count);
        foreach (var topic in response.Message.Topics)
        {
            results.Add(new TopicResult(topic.Name, topic.TopicId, (ErrorCode)topic.ErrorCode, topic.ErrorMessage, topic.NumPartitions, topic.ReplicationFactor));
        }

        return results;
    }
}
