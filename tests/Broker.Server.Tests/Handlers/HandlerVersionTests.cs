using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>
/// Every handler at every version it advertises: a realistic request is handled and its response encodes
/// and decodes at that version. Catches responses that fill a field their version cannot carry.
/// </summary>
public sealed class HandlerVersionTests : IDisposable
{
    private readonly HandlerHarness _harness = new();
    private readonly Guid _topicId;

    public HandlerVersionTests()
    {
        var created = _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("t", 2, 1, null, new Dictionary<string, string?>())], false, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
        _topicId = _harness.Image.TopicsByName["t"].TopicId;
        using var builder = new RecordBatchBuilder();
        builder.Append(1_700_000_000_000, [1], [2, 3]);
        Assert.Equal(ErrorCode.None, (ErrorCode)Produce(9, builder.ToArray()).GetAwaiter().GetResult());
    }

    public void Dispose() => _harness.Dispose();

    public static TheoryData<short, short> AdvertisedVersions()
    {
        using var harness = new HandlerHarness();
        var data = new TheoryData<short, short>();
        foreach (var handler in harness.Components.Dispatcher.Handlers)
        {
            for (var v = handler.MinVersion; v <= handler.MaxVersion; v++)
            {
                data.Add(handler.ApiKey, v);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AdvertisedVersions))]
    public async Task Handle_EveryAdvertisedVersion_ResponseEncodesAndDecodes(short apiKey, short version)
    {
        var request = RequestFor((ApiKey)apiKey, version);

        var body = await _harness.CallAsync(apiKey, version, request);

        Assert.NotNull(body);
        var response = ApiMessageTypes.CreateResponse((ApiKey)apiKey);
        var reader = new KafkaReader(body);
        response.Read(ref reader, version);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public async Task Produce_AcksZero_NoResponse()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(1, null, [9]);
        var request = new ProduceRequest { Acks = 0, TimeoutMs = 1000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "t",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = builder.ToArray() }],
        });

        Assert.Null(await _harness.CallAsync(0, 9, request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task Produce_BelowVersion3_UnsupportedVersionPerPartition(short version)
    {
        var request = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "t",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = new byte[70] }],
        });

        var body = await _harness.CallAsync(0, version, request);

        var response = new ProduceResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, response.Responses[0].PartitionResponses[0].ErrorCode);
    }

    private async Task<short> Produce(short version, byte[] batch)
    {
        var request = new ProduceRequest { Acks = -1, TimeoutMs = 1000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "t",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
        });
        var body = await _harness.CallAsync(0, version, request);
        var response = new ProduceResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        return response.Responses[0].PartitionResponses[0].ErrorCode;
    }

    private IApiMessage RequestFor(ApiKey key, short version)
    {
        switch (key)
        {
            case ApiKey.ApiVersions:
                return new ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1.0" };
            case ApiKey.Metadata:
                return new MetadataRequest
                {
                    Topics = version == 0 ? [] : [new MetadataRequest.MetadataRequestTopic { Name = "t" }, new MetadataRequest.MetadataRequestTopic { Name = "missing" }],
                    AllowAutoTopicCreation = version < 4, // the field exists from v4; older versions always allow it
                    IncludeTopicAuthorizedOperations = version >= 8,
                };
            case ApiKey.Produce:
                using (var builder = new RecordBatchBuilder())
                {
                    builder.Append(1_700_000_000_001, null, [4]);
                    var produce = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
                    produce.TopicData.Add(new ProduceRequest.TopicProduceData
                    {
                        Name = "t",
                        PartitionData = [new ProduceRequest.PartitionProduceData { Index = 1, Records = builder.ToArray() }],
                    });
                    return produce;
                }

            case ApiKey.Fetch:
                var fetch = new FetchRequest { MaxWaitMs = 0, MinBytes = 0, MaxBytes = 1 << 20, IsolationLevel = 1 };
                fetch.Topics.Add(new FetchRequest.FetchTopic
                {
                    Topic = version < 13 ? "t" : string.Empty,
                    TopicId = version >= 13 ? _topicId : Guid.Empty,
                    Partitions =
                    [
                        new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 },
                        new FetchRequest.FetchPartition { Partition = 1, FetchOffset = 99, PartitionMaxBytes = 1 << 20 },
                    ],
                });
                return fetch;
            case ApiKey.ListOffsets:
                var list = new ListOffsetsRequest { ReplicaId = -1 };
                var topic = new ListOffsetsRequest.ListOffsetsTopic { Name = "t" };
                foreach (var ts in new long[] { -1, -2, version >= 7 ? -3 : -1, 0 })
                {
                    topic.Partitions.Add(new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = 0, Timestamp = ts });
                }

                list.Topics.Add(topic);
                return list;
            case ApiKey.CreateTopics:
                return new CreateTopicsRequest
                {
                    Topics =
                    [
                        new CreateTopicsRequest.CreatableTopic { Name = $"new-{version}", NumPartitions = 1, ReplicationFactor = 1 },
                        new CreateTopicsRequest.CreatableTopic { Name = "t", NumPartitions = 1, ReplicationFactor = 1 },
                        new CreateTopicsRequest.CreatableTopic { Name = "bad/name", NumPartitions = 1, ReplicationFactor = 1 },
                    ],
                    TimeoutMs = 1000,
                };
            case ApiKey.DeleteTopics:
                return version >= 6
                    ? new DeleteTopicsRequest { Topics = [new DeleteTopicsRequest.DeleteTopicState { Name = "gone" }], TimeoutMs = 1000 }
                    : new DeleteTopicsRequest { TopicNames = ["gone"], TimeoutMs = 1000 };
            case ApiKey.CreatePartitions:
                return new CreatePartitionsRequest
                {
                    Topics =
                    [
                        new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t", Count = 3 + version },
                        new CreatePartitionsRequest.CreatePartitionsTopic { Name = "missing", Count = 2 },
                        new CreatePartitionsRequest.CreatePartitionsTopic { Name = "t2", Count = 1, Assignments = [] },
                    ],
                    TimeoutMs = 1000,
                };
            case ApiKey.DescribeConfigs:
                return new DescribeConfigsRequest
                {
                    Resources =
                    [
                        new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 2, ResourceName = "t", ConfigurationKeys = null },
                        new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 2, ResourceName = "missing", ConfigurationKeys = ["retention.ms"] },
                        new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 4, ResourceName = "1", ConfigurationKeys = null },
                        new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 4, ResourceName = "9", ConfigurationKeys = null },
                    ],
                    IncludeSynonyms = true,
                    IncludeDocumentation = version >= 3,
                };
            case ApiKey.DescribeCluster:
                return new DescribeClusterRequest { IncludeClusterAuthorizedOperations = true };
            case ApiKey.InitProducerId:
                return new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60000 };
            case ApiKey.DescribeProducers:
                return new DescribeProducersRequest
                {
                    Topics =
                    [
                        new DescribeProducersRequest.TopicRequest { Name = "t", PartitionIndexes = [0, 1, 7] },
                        new DescribeProducersRequest.TopicRequest { Name = "missing", PartitionIndexes = [0] },
                    ],
                };
            case ApiKey.AlterConfigs:
                return new AlterConfigsRequest
                {
                    Resources =
                    [
                        new AlterConfigsRequest.AlterConfigsResource
                        {
                            ResourceType = 2,
                            ResourceName = "t",
                            Configs = [new AlterConfigsRequest.AlterableConfig { Name = "retention.ms", Value = "86400000" }],
                        },
                        new AlterConfigsRequest.AlterConfigsResource
                        {
                            ResourceType = 2,
                            ResourceName = "missing",
                            Configs = [new AlterConfigsRequest.AlterableConfig { Name = "retention.ms", Value = "1" }],
                        },
                        new AlterConfigsRequest.AlterConfigsResource
                        {
                            ResourceType = 4,
                            ResourceName = "1",
                            Configs = [new AlterConfigsRequest.AlterableConfig { Name = "node.id", Value = "2" }],
                        },
                    ],
                    ValidateOnly = version == 1,
                };
            case ApiKey.IncrementalAlterConfigs:
                return new IncrementalAlterConfigsRequest
                {
                    Resources =
                    [
                        new IncrementalAlterConfigsRequest.AlterConfigsResource
                        {
                            ResourceType = 2,
                            ResourceName = "t",
                            Configs =
                            [
                                new IncrementalAlterConfigsRequest.AlterableConfig { Name = "cleanup.policy", ConfigOperation = 2, Value = "compact" },
                                new IncrementalAlterConfigsRequest.AlterableConfig { Name = "retention.ms", ConfigOperation = 1, Value = null },
                            ],
                        },
                        new IncrementalAlterConfigsRequest.AlterConfigsResource
                        {
                            ResourceType = 4,
                            ResourceName = string.Empty,
                            Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "log.retention.ms", ConfigOperation = 0, Value = "3600000" }],
                        },
                        new IncrementalAlterConfigsRequest.AlterConfigsResource
                        {
                            ResourceType = 8,
                            ResourceName = "1",
                            Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "kafka.server", ConfigOperation = 0, Value = "DEBUG" }],
                        },
                    ],
                };
            case ApiKey.DeleteRecords:
                return new DeleteRecordsRequest
                {
                    Topics =
                    [
                        new DeleteRecordsRequest.DeleteRecordsTopic
                        {
                            Name = "t",
                            Partitions =
                            [
                                new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 0, Offset = 0 },
                                new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 1, Offset = 1_000 },
                            ],
                        },
                        new DeleteRecordsRequest.DeleteRecordsTopic
                        {
                            Name = "missing",
                            Partitions = [new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = 0, Offset = -1 }],
                        },
                    ],
                    TimeoutMs = 1000,
                };
            case ApiKey.DescribeLogDirs:
                return new DescribeLogDirsRequest
                {
                    Topics = version % 2 == 0 ? null : [new DescribeLogDirsRequest.DescribableLogDirTopic { Topic = "t", Partitions = [0, 1, 7] }],
                };
            case ApiKey.OffsetForLeaderEpoch:
                return new OffsetForLeaderEpochRequest
                {
                    ReplicaId = -1,
                    Topics =
                    [
                        new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
                        {
                            Topic = "t",
                            Partitions =
                            [
                                new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = 0, LeaderEpoch = 0 },
                                new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 1, CurrentLeaderEpoch = 3, LeaderEpoch = 0 },
                                new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 8, CurrentLeaderEpoch = -1, LeaderEpoch = 0 },
                            ],
                        },
                    ],
                };
            case ApiKey.ListPartitionReassignments:
                return new ListPartitionReassignmentsRequest
                {
                    TimeoutMs = 1000,
                    Topics = [new ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics { Name = "t", PartitionIndexes = [0, 5] }],
                };
            case ApiKey.AlterPartitionReassignments:
                return new AlterPartitionReassignmentsRequest
                {
                    TimeoutMs = 1000,
                    Topics =
                    [
                        new AlterPartitionReassignmentsRequest.ReassignableTopic
                        {
                            Name = "t",
                            Partitions =
                            [
                                new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 0, Replicas = [1] },
                                new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 1, Replicas = null },
                                new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = 5, Replicas = [1] },
                            ],
                        },
                    ],
                };
            case ApiKey.ElectLeaders:
                return new ElectLeadersRequest
                {
                    ElectionType = version >= 1 ? (sbyte)1 : (sbyte)0,
                    TopicPartitions = [new ElectLeadersRequest.TopicPartitionsData { Topic = "t", Partitions = [0, 1, 9] }],
                    TimeoutMs = 1000,
                };
            case ApiKey.UnregisterBroker:
                return new UnregisterBrokerRequest { BrokerId = 7 };
            case ApiKey.DescribeTopicPartitions:
                return new DescribeTopicPartitionsRequest
                {
                    Topics = [new DescribeTopicPartitionsRequest.TopicRequest { Name = "t" }, new DescribeTopicPartitionsRequest.TopicRequest { Name = "missing" }],
                    ResponsePartitionLimit = 1,
                    Cursor = null,
                };
            case ApiKey.FindCoordinator:
                return version < 4
                    ? new FindCoordinatorRequest { Key = "g", KeyType = 0 }
                    : new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["g", "other"] };
            case ApiKey.JoinGroup:
                // v4+ without a member id answers MEMBER_ID_REQUIRED at once; older versions use an unknown id so nothing waits.
                return new JoinGroupRequest
                {
                    GroupId = "g",
                    SessionTimeoutMs = 10_000,
                    RebalanceTimeoutMs = version >= 1 ? 10_000 : -1,
                    MemberId = version >= 4 ? string.Empty : "unknown-member",
                    ProtocolType = "consumer",
                    Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = new byte[] { 0, 0, 0, 0, 0, 1, 0, 1, (byte)'t', 0xff, 0xff, 0xff, 0xff } }],
                };
            case ApiKey.SyncGroup:
                return new SyncGroupRequest
                {
                    GroupId = "g",
                    GenerationId = 1,
                    MemberId = "unknown-member",
                    ProtocolType = version >= 5 ? "consumer" : null,
                    ProtocolName = version >= 5 ? "range" : null,
                    Assignments = [new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = "unknown-member", Assignment = new byte[] { 0, 0 } }],
                };
            case ApiKey.Heartbeat:
                return new HeartbeatRequest { GroupId = "g", GenerationId = 1, MemberId = "unknown-member" };
            case ApiKey.LeaveGroup:
                return version < 3
                    ? new LeaveGroupRequest { GroupId = "g", MemberId = "unknown-member" }
                    : new LeaveGroupRequest { GroupId = "g", Members = [new LeaveGroupRequest.MemberIdentity { MemberId = "unknown-member" }] };
            case ApiKey.OffsetCommit:
                return new OffsetCommitRequest
                {
                    GroupId = "g",
                    GenerationIdOrMemberEpoch = -1,
                    Topics = [new OffsetCommitRequest.OffsetCommitRequestTopic
                    {
                        Name = "t",
                        Partitions = [new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 0, CommittedOffset = 1, CommittedMetadata = "m" }],
                    }],
                };
            case ApiKey.OffsetFetch:
                return version < 8
                    ? new OffsetFetchRequest { GroupId = "g", Topics = [new OffsetFetchRequest.OffsetFetchRequestTopic { Name = "t", PartitionIndexes = [0, 1] }] }
                    : new OffsetFetchRequest
                    {
                        Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "g", Topics = [new OffsetFetchRequest.OffsetFetchRequestTopics { Name = "t", PartitionIndexes = [0] }] },
                            new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "h", Topics = null }],
                    };
            case ApiKey.ListGroups:
                return new ListGroupsRequest { StatesFilter = version >= 4 ? ["Stable"] : [], TypesFilter = version >= 5 ? ["classic"] : [] };
            case ApiKey.DescribeGroups:
                return new DescribeGroupsRequest { Groups = ["g", "missing"], IncludeAuthorizedOperations = false };
            case ApiKey.DeleteGroups:
                return new DeleteGroupsRequest { GroupsNames = ["g"] };
            case ApiKey.OffsetDelete:
                return new OffsetDeleteRequest
                {
                    GroupId = "g",
                    Topics = [new OffsetDeleteRequest.OffsetDeleteRequestTopic { Name = "t", Partitions = [new OffsetDeleteRequest.OffsetDeleteRequestPartition { PartitionIndex = 0 }] }],
                };
            case ApiKey.DescribeQuorum:
                return new DescribeQuorumRequest
                {
                    Topics = [new DescribeQuorumRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [new DescribeQuorumRequest.PartitionData()] }],
                };
            default:
                throw new InvalidOperationException($"No sample request for {key}; add one when a handler is added.");
        }
    }
}
