using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Server.Tests.Handlers;

/// <summary>The group APIs through the real handler table: coordinator discovery, a full join/sync/commit cycle, restart.</summary>
public sealed class GroupHandlerTests : IDisposable
{
    private static readonly byte[] Subscription = [0, 0, 0, 0, 0, 1, 0, 1, (byte)'t', 0xff, 0xff, 0xff, 0xff];
    private HandlerHarness _harness = new(("offsets.topic.num.partitions", "3"), ("group.initial.rebalance.delay.ms", "0"));

    public GroupHandlerTests()
    {
        var created = _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("t", 2, 1, null, new Dictionary<string, string?>())], false, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
    }

    public void Dispose() => _harness.Dispose();

    private async Task<T> Call<T>(short apiKey, short version, IApiMessage request)
        where T : IApiMessage, new()
    {
        var body = await _harness.CallAsync(apiKey, version, request);
        var response = new T();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        return response;
    }

    private async Task<FindCoordinatorResponse> FindCoordinator(string group, sbyte keyType = 0) =>
        await Call<FindCoordinatorResponse>(10, 3, new FindCoordinatorRequest { Key = group, KeyType = keyType });

    private async Task WaitForCoordinator(string group)
    {
        for (var i = 0; i < 200; i++)
        {
            var found = await FindCoordinator(group);
            if (found.ErrorCode == 0)
            {
                // A heartbeat probes the coordinator without leaving a pending member behind.
                var probe = await Call<HeartbeatResponse>(12, 4, new HeartbeatRequest { GroupId = group, GenerationId = 1, MemberId = "probe" });
                if (probe.ErrorCode != (short)ErrorCode.CoordinatorLoadInProgress && probe.ErrorCode != (short)ErrorCode.NotCoordinator)
                {
                    return;
                }
            }

            await Task.Delay(20);
        }

        Assert.Fail("coordinator never became available");
    }

    private Task<JoinGroupResponse> Join(string group, string memberId) => Call<JoinGroupResponse>(11, 9, new JoinGroupRequest
    {
        GroupId = group,
        SessionTimeoutMs = 10_000,
        RebalanceTimeoutMs = 10_000,
        MemberId = memberId,
        ProtocolType = "consumer",
        Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = Subscription }],
    });

    [Fact]
    public async Task FindCoordinator_FirstCall_CreatesOffsetsTopicThenAnswersThisBroker()
    {
        var first = await FindCoordinator("g");

        Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, first.ErrorCode);
        Assert.Equal(3, _harness.Image.TopicsByName["__consumer_offsets"].Partitions.Length);
        Assert.Equal("compact", _harness.Image.TopicsByName["__consumer_offsets"].Configs["cleanup.policy"]);
        var second = await FindCoordinator("g");
        Assert.Equal((short)ErrorCode.None, second.ErrorCode);
        Assert.Equal(1, second.NodeId);
        Assert.Equal(9092, second.Port);
    }

    [Fact]
    public async Task FindCoordinator_TransactionKey_CreatesTransactionStateTopicThenAnswersThisBroker()
    {
        var first = await Call<FindCoordinatorResponse>(10, 4, new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = ["tx"] });

        Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, Assert.Single(first.Coordinators).ErrorCode);
        var topic = _harness.Image.TopicsByName["__transaction_state"];
        Assert.Equal(50, topic.Partitions.Length);
        Assert.Equal("compact", topic.Configs["cleanup.policy"]);
        Assert.Equal("1", topic.Configs["min.insync.replicas"]);

        var second = await Call<FindCoordinatorResponse>(10, 4, new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = ["tx", ""] });
        Assert.Equal((short)ErrorCode.None, second.Coordinators[0].ErrorCode);
        Assert.Equal(1, second.Coordinators[0].NodeId);
        Assert.Equal((short)ErrorCode.InvalidRequest, second.Coordinators[1].ErrorCode);

        // Java "tx".hashCode() = 116 * 31 + 120 = 3716; 3716 % 50 = 16.
        Assert.Equal(16, _harness.Components.Services.Transactions.PartitionFor("tx"));
    }

    [Fact]
    public async Task FindCoordinator_UnknownKeyType_InvalidRequest()
    {
        var response = await Call<FindCoordinatorResponse>(10, 4, new FindCoordinatorRequest { KeyType = 7, CoordinatorKeys = ["x"] });

        Assert.Equal((short)ErrorCode.InvalidRequest, Assert.Single(response.Coordinators).ErrorCode);
    }

    [Fact]
    public async Task JoinSyncCommit_BrokerRestarts_CommittedOffsetsAndGroupSurvive()
    {
        await WaitForCoordinator("g");
        var first = await Join("g", "");
        Assert.Equal((short)ErrorCode.MemberIdRequired, first.ErrorCode);
        var joined = await Join("g", first.MemberId);
        Assert.Equal((short)ErrorCode.None, joined.ErrorCode);
        Assert.Equal("range", joined.ProtocolName);
        var sync = await Call<SyncGroupResponse>(14, 5, new SyncGroupRequest
        {
            GroupId = "g",
            GenerationId = joined.GenerationId,
            MemberId = joined.MemberId,
            ProtocolType = "consumer",
            ProtocolName = "range",
            Assignments = [new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = joined.MemberId, Assignment = new byte[] { 0, 0, 9 } }],
        });
        Assert.Equal(new byte[] { 0, 0, 9 }, sync.Assignment.ToArray());
        var commit = await Call<OffsetCommitResponse>(8, 8, new OffsetCommitRequest
        {
            GroupId = "g",
            GenerationIdOrMemberEpoch = joined.GenerationId,
            MemberId = joined.MemberId,
            Topics = [new OffsetCommitRequest.OffsetCommitRequestTopic
            {
                Name = "t",
                Partitions = [new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = 1, CommittedOffset = 17, CommittedMetadata = "hello" }],
            }],
        });
        Assert.Equal((short)ErrorCode.None, commit.Topics[0].Partitions[0].ErrorCode);

        _harness = _harness.Restart();
        await WaitForCoordinator("other-group");

        var fetched = await Call<OffsetFetchResponse>(9, 8, new OffsetFetchRequest
        {
            Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "g", Topics = [new OffsetFetchRequest.OffsetFetchRequestTopics { Name = "t", PartitionIndexes = [0, 1] }] }],
        });
        var partitions = fetched.Groups[0].Topics[0].Partitions;
        Assert.Equal([-1L, 17L], partitions.Select(p => p.CommittedOffset));
        Assert.Equal("hello", partitions[1].Metadata);
        var described = await Call<DescribeGroupsResponse>(15, 5, new DescribeGroupsRequest { Groups = ["g"] });
        Assert.Equal("Stable", described.Groups[0].GroupState);
        Assert.Equal(joined.MemberId, Assert.Single(described.Groups[0].Members).MemberId);
        var listed = await Call<ListGroupsResponse>(16, 5, new ListGroupsRequest { StatesFilter = ["stable"] });
        Assert.Contains(listed.Groups, g => g.GroupId == "g" && g.GroupType == "classic");
    }
}
