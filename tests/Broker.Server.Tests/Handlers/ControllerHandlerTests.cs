using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Server.Dispatch;
using Broker.Server.Handlers;

namespace Broker.Server.Tests.Handlers;

/// <summary>
/// The controller APIs through their handlers at every version: ElectLeaders, Alter/ListPartitionReassignments,
/// UnregisterBroker (served by the broker) and BrokerRegistration / BrokerHeartbeat (controller-listener handlers,
/// driven directly since the broker does not advertise them).
/// </summary>
public sealed class ControllerHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new();

    public ControllerHandlerTests()
    {
        var topics = _harness.Components.Services.Topics;
        topics.RegisterBrokerAsync(2, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9093, 0)], null, CancellationToken.None).GetAwaiter().GetResult();
        var created = topics.CreateTopicsAsync(
            [new NewTopic("r", -1, -1, new Dictionary<int, IReadOnlyList<int>> { [0] = [1, 2], [1] = [1, 2] }, new Dictionary<string, string?>())],
            false, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
    }

    public void Dispose() => _harness.Dispose();

    private PartitionInfo Partition(int index) => _harness.Image.TopicsByName["r"].Partitions[index];

    private async Task<TResponse> CallAsync<TResponse>(short apiKey, short version, IApiMessage request)
        where TResponse : IApiMessage, new()
    {
        var body = await _harness.CallAsync(apiKey, version, request);
        var response = new TResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        Assert.Equal(0, reader.Remaining);
        return response;
    }

    private static async Task<TResponse> CallDirectAsync<TResponse>(ApiHandler handler, short version, IApiMessage request)
        where TResponse : IApiMessage, new()
    {
        using var writer = new KafkaWriter();
        request.Write(writer, version);
        var context = new RequestContext(handler.ApiKey, version, 1, "harness", "CONTROLLER", null, 1);
        var answer = await handler.HandleAsync(context, writer.WrittenSpan.ToArray(), CancellationToken.None);
        using var output = new KafkaWriter();
        answer!.Write(output, version);
        var response = new TResponse();
        var reader = new KafkaReader(output.WrittenSpan.ToArray());
        response.Read(ref reader, version);
        return response;
    }

    private async Task MoveLeaderTo2Async(int partition)
    {
        var topicId = _harness.Image.TopicsByName["r"].TopicId;
        await _harness.Components.Metadata.CommitAsync([new PartitionChangeRecord { TopicId = topicId, PartitionId = partition, Leader = 2 }], CancellationToken.None);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ElectLeaders_Preferred_MovesLeadershipBackAndReportsPerPartition(short version)
    {
        await MoveLeaderTo2Async(0);
        var request = new ElectLeadersRequest
        {
            TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = "r", Partitions = [0, 1] }, new ElectLeadersRequest.TopicPartitionsData { Topic = "nope", Partitions = [0] }],
        };

        var response = await CallAsync<ElectLeadersResponse>(43, version, request);

        Assert.Equal(0, response.ErrorCode);
        var r = response.ReplicaElectionResults.Single(t => t.Topic == "r");
        Assert.Equal([(0, (short)ErrorCode.None), (1, (short)ErrorCode.ElectionNotNeeded)], r.PartitionResult.Select(p => (p.PartitionId, p.ErrorCode)));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Assert.Single(response.ReplicaElectionResults.Single(t => t.Topic == "nope").PartitionResult).ErrorCode);
        Assert.Equal(1, Partition(0).Leader);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ElectLeaders_UncleanOnLedPartition_ElectionNotNeeded_UnknownTypeInvalidRequest(short version)
    {
        var unclean = await CallAsync<ElectLeadersResponse>(43, version, new ElectLeadersRequest
        {
            ElectionType = 1,
            TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = "r", Partitions = [0] }],
        });
        var unknownType = await CallAsync<ElectLeadersResponse>(43, version, new ElectLeadersRequest { ElectionType = 5, TopicPartitions = null });

        Assert.Equal((short)ErrorCode.ElectionNotNeeded, unclean.ReplicaElectionResults[0].PartitionResult[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequest, unknownType.ErrorCode);
    }

    [Fact]
    public async Task ElectLeaders_AllPartitions_OnlyThoseElectedAreReported()
    {
        await MoveLeaderTo2Async(1);

        var response = await CallAsync<ElectLeadersResponse>(43, 2, new ElectLeadersRequest { ElectionType = 0, TopicPartitions = null });

        var topic = Assert.Single(response.ReplicaElectionResults);
        Assert.Equal(("r", 1), (topic.Topic, Assert.Single(topic.PartitionResult).PartitionId));
        Assert.Equal(1, Partition(1).Leader);
    }

    [Fact]
    public async Task AlterThenListPartitionReassignments_InProgressListed_CancelClearsIt()
    {
        await _harness.Components.Services.Topics.RegisterBrokerAsync(3, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9094, 0)], null, CancellationToken.None);

        var altered = await CallAsync<AlterPartitionReassignmentsResponse>(45, 0, Reassign(0, [3, 1]));
        Assert.Equal(0, altered.ErrorCode);
        Assert.Equal((short)ErrorCode.None, altered.Responses[0].Partitions[0].ErrorCode);

        var listed = await CallAsync<ListPartitionReassignmentsResponse>(46, 0, new ListPartitionReassignmentsRequest { Topics = null });
        var ongoing = Assert.Single(Assert.Single(listed.Topics).Partitions);
        Assert.Equal([3, 1, 2], ongoing.Replicas);
        Assert.Equal([3], ongoing.AddingReplicas);
        Assert.Equal([2], ongoing.RemovingReplicas);
        var filtered = await CallAsync<ListPartitionReassignmentsResponse>(46, 0, new ListPartitionReassignmentsRequest
        {
            Topics = [new ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics { Name = "r", PartitionIndexes = [1] }],
        });
        Assert.Empty(filtered.Topics);

        var cancelled = await CallAsync<AlterPartitionReassignmentsResponse>(45, 0, Reassign(0, null));
        Assert.Equal((short)ErrorCode.None, cancelled.Responses[0].Partitions[0].ErrorCode);
        Assert.Empty((await CallAsync<ListPartitionReassignmentsResponse>(46, 0, new ListPartitionReassignmentsRequest { Topics = null })).Topics);
        Assert.Equal([1, 2], Partition(0).Replicas.Order());
    }

    [Fact]
    public async Task AlterPartitionReassignments_Errors_PerPartition()
    {
        var response = await CallAsync<AlterPartitionReassignmentsResponse>(45, 0, new AlterPartitionReassignmentsRequest
        {
            Topics =
            [
                new AlterPartitionReassignmentsRequest.ReassignableTopic
                {
                    Name = "r",
                    Partitions =
                    [
                        new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 0, Replicas = [1, 9] },
                        new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 1, Replicas = null },
                        new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 4, Replicas = [1] },
                    ],
                },
            ],
        });

        Assert.Equal(
            [(short)ErrorCode.InvalidReplicaAssignment, (short)ErrorCode.NoReassignmentInProgress, (short)ErrorCode.UnknownTopicOrPartition],
            response.Responses[0].Partitions.Select(p => p.ErrorCode));
    }

    [Fact]
    public async Task UnregisterBroker_RegisteredBrokerRemoved_UnknownBrokerIdNotRegistered()
    {
        var removed = await CallAsync<UnregisterBrokerResponse>(64, 0, new UnregisterBrokerRequest { BrokerId = 2 });
        var unknown = await CallAsync<UnregisterBrokerResponse>(64, 0, new UnregisterBrokerRequest { BrokerId = 2 });

        Assert.Equal(0, removed.ErrorCode);
        Assert.False(_harness.Image.Brokers.ContainsKey(2));
        Assert.Equal([1], Partition(0).Isr.ToArray());
        Assert.Equal((short)ErrorCode.BrokerIdNotRegistered, unknown.ErrorCode);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(4, 1)]
    public async Task BrokerRegistrationThenHeartbeat_EveryVersion_RegistersFencedThenUnfences(short registrationVersion, short heartbeatVersion)
    {
        var lifecycle = _harness.Components.Services.BrokerLifecycle;
        var register = new BrokerRegistrationRequest
        {
            BrokerId = 5,
            ClusterId = _harness.Image.ClusterId,
            IncarnationId = Guid.NewGuid(),
            Listeners = [new BrokerRegistrationRequest.Listener { Name = "PLAINTEXT", Host = "127.0.0.1", Port = 9095, SecurityProtocol = 0 }],
            Features = [new BrokerRegistrationRequest.Feature { Name = "metadata.version", MinSupportedVersion = 1, MaxSupportedVersion = 25 }],
            Rack = "rack-5",
        };

        var registered = await CallDirectAsync<BrokerRegistrationResponse>(new BrokerRegistrationHandler(lifecycle), registrationVersion, register);

        Assert.Equal(0, registered.ErrorCode);
        Assert.True(_harness.Image.Brokers[5].Fenced);
        Assert.Equal("rack-5", _harness.Image.Brokers[5].Rack);

        var beat = await CallDirectAsync<BrokerHeartbeatResponse>(new BrokerHeartbeatHandler(lifecycle), heartbeatVersion, new BrokerHeartbeatRequest
        {
            BrokerId = 5,
            BrokerEpoch = registered.BrokerEpoch,
            CurrentMetadataOffset = _harness.Image.Offset,
        });

        Assert.Equal(0, beat.ErrorCode);
        Assert.True(beat.IsCaughtUp);
        Assert.False(beat.IsFenced);
        Assert.False(beat.ShouldShutDown);
        Assert.False(_harness.Image.Brokers[5].Fenced);
    }

    [Fact]
    public async Task BrokerRegistration_WrongClusterId_InconsistentClusterId_HeartbeatStaleEpoch()
    {
        var lifecycle = _harness.Components.Services.BrokerLifecycle;

        var registered = await CallDirectAsync<BrokerRegistrationResponse>(new BrokerRegistrationHandler(lifecycle), 4, new BrokerRegistrationRequest { BrokerId = 6, ClusterId = "other" });
        var beat = await CallDirectAsync<BrokerHeartbeatResponse>(new BrokerHeartbeatHandler(lifecycle), 1, new BrokerHeartbeatRequest { BrokerId = 6, BrokerEpoch = 3 });

        Assert.Equal((short)ErrorCode.InconsistentClusterId, registered.ErrorCode);
        Assert.Equal(-1, registered.BrokerEpoch);
        Assert.Equal((short)ErrorCode.StaleBrokerEpoch, beat.ErrorCode);
    }

    private static AlterPartitionReassignmentsRequest Reassign(int partition, List<int>? replicas) => new()
    {
        Topics =
        [
            new AlterPartitionReassignmentsRequest.ReassignableTopic
            {
                Name = "r",
                Partitions = [new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = partition, Replicas = replicas }],
            },
        ],
    };
}
