using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Tests.Handlers;

namespace Broker.Server.Tests.Raft;

/// <summary>
/// The Raft APIs through their handlers on a single-voter KRaft node (controller.quorum.voters naming only itself, so
/// it leads at once and needs no network): the requests reach the replica through the driver and its answers come back.
/// </summary>
public sealed class RaftHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new(new FixedTime(DateTimeOffset.UnixEpoch.AddDays(20000)),
        ("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"),
        ("advertised.listeners", "PLAINTEXT://127.0.0.1:9092"),
        ("controller.listener.names", "CONTROLLER"),
        ("controller.quorum.voters", "1@127.0.0.1:9093"));

    public void Dispose() => _harness.Dispose();

    private async Task<TResponse> CallAsync<TResponse>(short apiKey, short version, IApiMessage request)
        where TResponse : IApiMessage, new()
    {
        var body = await _harness.CallAsync(apiKey, version, request);
        var response = new TResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        return response;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task DescribeQuorum_SingleVoter_ReportsItselfLeaderAndCaughtUp(short version)
    {
        var response = await CallAsync<DescribeQuorumResponse>(55, version, new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic.TopicName, Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        });

        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal(0, partition.ErrorCode);
        Assert.Equal(1, partition.LeaderId);
        Assert.True(partition.LeaderEpoch >= 1);
        var voter = Assert.Single(partition.CurrentVoters);
        Assert.Equal(1, voter.ReplicaId);
        Assert.Equal(partition.HighWatermark, voter.LogEndOffset);
        Assert.True(partition.HighWatermark > 0, "the LEADER_CHANGE batch and the registration are committed");
    }

    [Fact]
    public async Task VoterChanges_StaticQuorum_UnsupportedVersionThroughEachHandler()
    {
        var describe = await CallAsync<DescribeQuorumResponse>(55, 2, new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic.TopicName, Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        });
        var epoch = describe.Topics[0].Partitions[0].LeaderEpoch;

        var add = await CallAsync<AddRaftVoterResponse>(80, 0, new AddRaftVoterRequest
        {
            ClusterId = null, TimeoutMs = 1000, VoterId = 2, VoterDirectoryId = Guid.NewGuid(),
            Listeners = [new AddRaftVoterRequest.Listener { Name = "CONTROLLER", Host = "127.0.0.1", Port = 9094 }],
        });
        var remove = await CallAsync<RemoveRaftVoterResponse>(81, 0, new RemoveRaftVoterRequest { ClusterId = null, VoterId = 1 });
        var update = await CallAsync<UpdateRaftVoterResponse>(82, 0, new UpdateRaftVoterRequest
        {
            ClusterId = null, CurrentLeaderEpoch = epoch, VoterId = 1,
            Listeners = [new UpdateRaftVoterRequest.Listener { Name = "CONTROLLER", Host = "127.0.0.1", Port = 9093 }],
            KRaftVersionFeature = new UpdateRaftVoterRequest.KRaftVersionFeatureData { MinSupportedVersion = 0, MaxSupportedVersion = 1 },
        });

        Assert.Equal((short)ErrorCode.UnsupportedVersion, add.ErrorCode);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, remove.ErrorCode);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, update.ErrorCode);
        Assert.Equal(1, update.CurrentLeader.LeaderId);
        Assert.Equal(9093, update.CurrentLeader.Port);
        Assert.Equal(9093, describe.Nodes.Single().Listeners.Single().Port);
    }

    [Fact]
    public async Task ApiVersions_KRaftNode_VoterChangesOnTheControllerListenerAndAddRemoveOnTheBrokerListener()
    {
        var controller = await ApiKeysAsync(ApiListeners.Controller);
        var broker = await ApiKeysAsync(ApiListeners.Broker);

        Assert.Superset(new HashSet<ApiKey> { ApiKey.AddRaftVoter, ApiKey.RemoveRaftVoter, ApiKey.UpdateRaftVoter }, controller);
        Assert.Superset(new HashSet<ApiKey> { ApiKey.AddRaftVoter, ApiKey.RemoveRaftVoter }, broker);
        Assert.DoesNotContain(ApiKey.UpdateRaftVoter, broker);
    }

    [Fact]
    public async Task ApiVersions_V4OnTheControllerListener_ReportsTheSupportedKRaftVersionRange()
    {
        // What a quorum leader reads before adding this node as a voter (KIP-853).
        var body = await _harness.CallAsync(18, 4, new ApiVersionsRequest { ClientSoftwareName = "broker-kraft", ClientSoftwareVersion = "1" },
            ApiListeners.Controller);
        var response = new ApiVersionsResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 4);

        Assert.Equal(0, response.ErrorCode);
        var kraft = Assert.Single(response.SupportedFeatures, f => f.Name == "kraft.version");
        Assert.Equal(((short)0, (short)1), (kraft.MinVersion, kraft.MaxVersion));
    }

    private async Task<HashSet<ApiKey>> ApiKeysAsync(ApiListeners listener)
    {
        var body = await _harness.CallAsync(18, 3, new ApiVersionsRequest { ClientSoftwareName = "harness", ClientSoftwareVersion = "1" }, listener);
        var response = new ApiVersionsResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 3);
        return [.. response.ApiKeys.Select(k => (ApiKey)k.ApiKey)];
    }

    [Fact]
    public async Task Vote_CandidateNotAVoter_InconsistentVoterSet()
    {
        var response = await CallAsync<VoteResponse>(52, 1, new VoteRequest
        {
            VoterId = 1,
            Topics =
            [
                new VoteRequest.TopicData
                {
                    TopicName = MetadataTopic.TopicName,
                    Partitions = [new VoteRequest.PartitionData { CandidateId = 2, CandidateEpoch = 50, LastOffsetEpoch = 49, LastOffset = 1000 }],
                },
            ],
        });

        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal(94, partition.ErrorCode);
        Assert.False(partition.VoteGranted);
    }

    [Fact]
    public async Task Vote_NoPartition_InvalidRequest()
    {
        var response = await CallAsync<VoteResponse>(52, 1, new VoteRequest { VoterId = 1 });

        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
    }

    [Fact]
    public async Task BeginQuorumEpoch_StaleEpochFromOtherNode_FencedLeaderEpoch()
    {
        var response = await CallAsync<BeginQuorumEpochResponse>(53, 1, new BeginQuorumEpochRequest
        {
            VoterId = 1,
            Topics =
            [
                new BeginQuorumEpochRequest.TopicData
                {
                    TopicName = MetadataTopic.TopicName,
                    Partitions = [new BeginQuorumEpochRequest.PartitionData { LeaderId = 2, LeaderEpoch = 0 }],
                },
            ],
        });

        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal((short)ErrorCode.FencedLeaderEpoch, partition.ErrorCode);
        Assert.Equal(1, partition.LeaderId);
    }

    [Fact]
    public async Task Fetch_MetadataPartitionFromObserver_ReturnsTheCommittedLog()
    {
        var describe = await CallAsync<DescribeQuorumResponse>(55, 1, new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic.TopicName, Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        });
        var epoch = describe.Topics[0].Partitions[0].LeaderEpoch;

        var response = await CallAsync<FetchResponse>(1, 17, new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = 7 },
            MaxWaitMs = 0,
            MaxBytes = 1 << 20,
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    TopicId = MetadataTopic.TopicId,
                    Partitions = [new FetchRequest.FetchPartition { Partition = 0, CurrentLeaderEpoch = epoch, FetchOffset = 0, LastFetchedEpoch = 0, PartitionMaxBytes = 1 << 20 }],
                },
            ],
        });

        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(0, partition.ErrorCode);
        Assert.True(partition.HighWatermark > 0);
        Assert.True(partition.Records is { Length: > 0 }, "the metadata log's batches are returned");
        Assert.Equal(_harness.Image.Offset + 1, partition.HighWatermark);
    }

    [Fact]
    public async Task Metadata_KRaftNode_ReportsTheQuorumLeaderAsController()
    {
        var response = await CallAsync<MetadataResponse>(3, 12, new MetadataRequest { Topics = [] });

        Assert.Equal(1, response.ControllerId);
    }

    [Fact]
    public async Task Envelope_ForwardedCreateTopics_RunsOnTheControllerAndReturnsTheInnerResponse()
    {
        var inner = new CreateTopicsRequest { Topics = [new CreateTopicsRequest.CreatableTopic { Name = "enveloped", NumPartitions = 3, ReplicationFactor = 1 }] };
        var envelope = new EnvelopeRequest { RequestData = Frame(19, 7, 42, inner), ClientHostAddress = new byte[] { 127, 0, 0, 1 } };

        var response = await CallAsync<EnvelopeResponse>(58, 0, envelope);

        Assert.Equal(0, response.ErrorCode);
        var reader = new KafkaReader(response.ResponseData!.Value);
        var header = new ResponseHeader();
        header.Read(ref reader, 1);
        Assert.Equal(42, header.CorrelationId);
        var created = new CreateTopicsResponse();
        created.Read(ref reader, 7);
        var topic = Assert.Single(created.Topics);
        Assert.Equal(0, topic.ErrorCode);
        Assert.Equal(3, topic.NumPartitions);
        Assert.Equal(topic.TopicId, _harness.Image.TopicsByName["enveloped"].TopicId);
    }

    [Fact]
    public async Task Envelope_NotForwardableApi_InvalidRequest()
    {
        var envelope = new EnvelopeRequest { RequestData = Frame(3, 12, 1, new MetadataRequest()), ClientHostAddress = new byte[] { 127, 0, 0, 1 } };

        var response = await CallAsync<EnvelopeResponse>(58, 0, envelope);

        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
        Assert.Null(response.ResponseData);
    }

    [Fact]
    public async Task AllocateProducerIds_TwoBrokers_CommitsConsecutiveBlocks()
    {
        var first = await CallAsync<AllocateProducerIdsResponse>(67, 0, new AllocateProducerIdsRequest { BrokerId = 2, BrokerEpoch = 5 });
        var second = await CallAsync<AllocateProducerIdsResponse>(67, 0, new AllocateProducerIdsRequest { BrokerId = 3, BrokerEpoch = 6 });

        Assert.Equal(0, first.ErrorCode);
        Assert.Equal(0, second.ErrorCode);
        Assert.Equal(1000, first.ProducerIdLen);
        Assert.Equal(first.ProducerIdStart + first.ProducerIdLen, second.ProducerIdStart);
        Assert.Equal(second.ProducerIdStart + second.ProducerIdLen, _harness.Image.NextProducerId);
    }

    [Fact]
    public async Task AlterPartition_LeaderShrinksIsr_CommittedInTheImage()
    {
        var topics = _harness.Components.Services.Topics;
        await topics.RegisterBrokerAsync(2, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9094, 0)], null, CancellationToken.None);
        await topics.CreateTopicsAsync([new NewTopic("isr", -1, -1, new Dictionary<int, IReadOnlyList<int>> { [0] = [1, 2] }, new Dictionary<string, string?>())],
            false, CancellationToken.None);
        var before = _harness.Image.TopicsByName["isr"];

        var response = await CallAsync<AlterPartitionResponse>(56, 3, new AlterPartitionRequest
        {
            BrokerId = 1,
            BrokerEpoch = 1,
            Topics =
            [
                new AlterPartitionRequest.TopicData
                {
                    TopicId = before.TopicId,
                    Partitions =
                    [
                        new AlterPartitionRequest.PartitionData
                        {
                            PartitionIndex = 0,
                            LeaderEpoch = before.Partitions[0].LeaderEpoch,
                            PartitionEpoch = before.Partitions[0].PartitionEpoch,
                            NewIsrWithEpochs = [new AlterPartitionRequest.BrokerState { BrokerId = 1, BrokerEpoch = 1 }],
                        },
                    ],
                },
            ],
        });

        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal(0, partition.ErrorCode);
        Assert.Equal([1], partition.Isr);
        Assert.Equal([1], _harness.Image.TopicsByName["isr"].Partitions[0].Isr.ToArray());
        Assert.True(partition.PartitionEpoch > before.Partitions[0].PartitionEpoch);
    }

    [Fact]
    public async Task Resign_SingleVoterLeader_ResignsOnceAndStopsAnsweringDescribeQuorum()
    {
        var store = _harness.Components.Quorum!.Store;

        Assert.True(store.Resign());
        Assert.Equal(Broker.Cluster.Raft.RaftRole.Resigned, store.State.Role);
        Assert.False(store.Resign());
        var response = await CallAsync<DescribeQuorumResponse>(55, 1, new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic.TopicName, Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        });
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, response.Topics[0].Partitions[0].ErrorCode);
    }

    private static byte[] Frame(short apiKey, short version, int correlationId, IApiMessage body)
    {
        using var writer = new KafkaWriter();
        new RequestHeader { RequestApiKey = apiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = "forwarding-test" }
            .Write(writer, ApiMessageTypes.RequestHeaderVersion((ApiKey)apiKey, version));
        body.Write(writer, version);
        return writer.WrittenSpan.ToArray();
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
