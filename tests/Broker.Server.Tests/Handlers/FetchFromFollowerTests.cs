using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>
/// Fetch from follower (KIP-392) through the real Fetch handler: the leader's preferred-read-replica answer with the
/// rack-aware selector, and a follower replica serving consumers up to its own high watermark. Followers' fetches are
/// sent by hand (Fetch with a replica id), as in <see cref="LeaderReplicationTests"/>.
/// </summary>
public sealed class FetchFromFollowerTests : IDisposable
{
    private const string RackAware = RackAwareReplicaSelector.ClassName;
    private readonly List<HandlerHarness> _harnesses = [];

    public void Dispose()
    {
        foreach (var harness in _harnesses)
        {
            harness.Dispose();
        }
    }

    [Fact]
    public async Task ConsumerFetch_RackAwareLeader_AnswersTheCaughtUpFollowerInTheClientsRack_WithoutRecords()
    {
        var harness = LeaderOfThreeReplicas(("replica.selector.class", RackAware));
        await ProduceAsync(harness, records: 3);
        await ReplicaFetchAsync(harness, 2, fetchOffset: 3);
        await ReplicaFetchAsync(harness, 3, fetchOffset: 3);

        var inRackB = await ConsumerFetchAsync(harness, 0, rack: "b");
        var inRackC = await ConsumerFetchAsync(harness, 0, rack: "c");

        Assert.Equal((ErrorCode.None, 2, 0, 3L), (inRackB.Error, inRackB.PreferredReadReplica, RecordCount(inRackB.Records), inRackB.HighWatermark));
        Assert.Equal((ErrorCode.None, 3, 0, 3L), (inRackC.Error, inRackC.PreferredReadReplica, RecordCount(inRackC.Records), inRackC.HighWatermark));
    }

    [Theory]
    [InlineData("z")]
    [InlineData("")]
    public async Task ConsumerFetch_NoReplicaInTheClientsRack_ReadsFromTheLeader(string rack)
    {
        var harness = LeaderOfThreeReplicas(("replica.selector.class", RackAware));
        await ProduceAsync(harness, records: 3);
        await ReplicaFetchAsync(harness, 2, fetchOffset: 3);
        await ReplicaFetchAsync(harness, 3, fetchOffset: 3);

        var result = await ConsumerFetchAsync(harness, 0, rack);

        Assert.Equal((ErrorCode.None, -1, 3), (result.Error, result.PreferredReadReplica, RecordCount(result.Records)));
    }

    [Fact]
    public async Task ConsumerFetch_FollowerInTheRackHasNotReachedTheFetchOffset_ReadsFromTheLeader()
    {
        var harness = LeaderOfThreeReplicas(("replica.selector.class", RackAware));
        await ProduceAsync(harness, records: 3);
        await ReplicaFetchAsync(harness, 2, fetchOffset: 3);
        await ReplicaFetchAsync(harness, 3, fetchOffset: 1);

        var behind = await ConsumerFetchAsync(harness, 0, rack: "c");
        var beyondIt = await ConsumerFetchAsync(harness, 2, rack: "c");

        // Broker 3 holds offset 0 (its log ends at 1), so it is offered for 0 but not for 2.
        Assert.Equal(3, behind.PreferredReadReplica);
        Assert.Equal(-1, beyondIt.PreferredReadReplica);
    }

    [Fact]
    public async Task ConsumerFetch_WithoutReplicaSelector_ReadsFromTheLeaderWhateverTheRack()
    {
        var harness = LeaderOfThreeReplicas();
        await ProduceAsync(harness, records: 3);
        await ReplicaFetchAsync(harness, 2, fetchOffset: 3);
        await ReplicaFetchAsync(harness, 3, fetchOffset: 3);

        var result = await ConsumerFetchAsync(harness, 0, rack: "b");

        Assert.Equal((ErrorCode.None, -1, 3), (result.Error, result.PreferredReadReplica, RecordCount(result.Records)));
    }

    [Fact]
    public async Task ConsumerFetch_PreferredReplicaAnswer_IsSentAtOnceEvenBelowMinBytes()
    {
        var harness = LeaderOfThreeReplicas(("replica.selector.class", RackAware));
        await ProduceAsync(harness, records: 3);
        await ReplicaFetchAsync(harness, 2, fetchOffset: 3);
        await ReplicaFetchAsync(harness, 3, fetchOffset: 3);

        // Parked, this fetch would wait ten minutes; Kafka answers a preferred replica at once, so the call completes
        // synchronously.
        var pending = FetchAsync(harness, replicaId: -1, fetchOffset: 3, rack: "b", version: 17, maxWaitMs: 600_000, minBytes: 1);

        Assert.True(pending.IsCompleted);
        Assert.Equal(2, (await pending).PreferredReadReplica);
    }

    [Fact]
    public async Task ConsumerFetchOnFollower_ServesUpToItsOwnHighWatermark_EmptyBetweenItAndTheLogEnd_OutOfRangeBeyond()
    {
        var (harness, partition) = FollowerOfBroker2();
        AppendAsFollower(partition, baseOffset: 0, records: 3);
        AppendAsFollower(partition, baseOffset: 3, records: 2);
        partition.Log.HighWatermark = 3;

        var upToHighWatermark = await ConsumerFetchAsync(harness, 0, rack: "a");
        var betweenHighWatermarkAndEnd = await ConsumerFetchAsync(harness, 3, rack: "a");
        var beyondEnd = await ConsumerFetchAsync(harness, 6, rack: "a");

        Assert.Equal((ErrorCode.None, 3, 3L, -1), (upToHighWatermark.Error, RecordCount(upToHighWatermark.Records), upToHighWatermark.HighWatermark, upToHighWatermark.PreferredReadReplica));
        Assert.Equal((ErrorCode.None, 0), (betweenHighWatermarkAndEnd.Error, RecordCount(betweenHighWatermarkAndEnd.Records)));
        Assert.Equal(ErrorCode.OffsetOutOfRange, beyondEnd.Error);
    }

    [Fact]
    public async Task ConsumerFetchOnFollower_ParkedAtTheHighWatermark_WokenWhenTheLeadersHighWatermarkArrives()
    {
        var (harness, partition) = FollowerOfBroker2();
        AppendAsFollower(partition, baseOffset: 0, records: 3);
        AppendAsFollower(partition, baseOffset: 3, records: 2);
        partition.Log.HighWatermark = 3;

        var parked = FetchAsync(harness, replicaId: -1, fetchOffset: 3, rack: "a", version: 17, maxWaitMs: 600_000, minBytes: 1);
        Assert.False(parked.IsCompleted);

        // The fetcher's handling of the leader's next answer: nothing new but the high watermark.
        var state = new FollowerFetchState(partition, leaderId: 2, partition.LeaderEpoch) { FetchOffset = 5 };
        FollowerFetch.Process(state, new FetchResponse.PartitionData { HighWatermark = 5, LogStartOffset = 0, Records = ReadOnlyMemory<byte>.Empty }, nowMs: 0, backoffMs: 1000);
        var woken = await parked.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((ErrorCode.None, 2, 5L), (woken.Error, RecordCount(woken.Records), woken.HighWatermark));
    }

    [Fact]
    public async Task FetchOnFollower_ReplicasAndOldConsumers_NotLeaderOrFollower_UnknownNewerEpoch()
    {
        var (harness, partition) = FollowerOfBroker2();
        AppendAsFollower(partition, baseOffset: 0, records: 3);
        partition.Log.HighWatermark = 3;

        var replica = await FetchAsync(harness, replicaId: 3, fetchOffset: 0, rack: "", version: 17);
        var oldConsumer = await FetchAsync(harness, replicaId: -1, fetchOffset: 0, rack: "", version: 10);
        var newerEpoch = await FetchAsync(harness, replicaId: -1, fetchOffset: 0, rack: "a", version: 17, currentLeaderEpoch: partition.LeaderEpoch + 1);

        Assert.Equal(ErrorCode.NotLeaderOrFollower, replica.Error);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, oldConsumer.Error);
        Assert.Equal(ErrorCode.UnknownLeaderEpoch, newerEpoch.Error);
    }

    [Fact]
    public async Task ConsumerFetch_PartitionKnownButNotHostedHere_NotLeaderOrFollower()
    {
        var harness = NewHarness();
        await RegisterAsync(harness, 2, "b");
        await CreateAsync(harness, "r", [2]);

        var notHosted = await FetchAsync(harness, replicaId: -1, fetchOffset: 0, rack: "", version: 12);

        Assert.Equal(ErrorCode.NotLeaderOrFollower, notHosted.Error);
    }

    [Fact]
    public void ReplicaSelectorClass_UnknownClass_RefusedAtLoad()
    {
        var error = Assert.ThrowsAny<Exception>(() => NewHarness(("replica.selector.class", "com.example.Nope")));

        Assert.Contains("replica.selector.class", error.Message, StringComparison.Ordinal);
    }

    private HandlerHarness NewHarness(params (string Key, string Value)[] overrides)
    {
        var harness = new HandlerHarness(overrides);
        _harnesses.Add(harness);
        return harness;
    }

    /// <summary>Broker 1 (no rack) leads "r" with followers 2 (rack b) and 3 (rack c), all in the ISR.</summary>
    private HandlerHarness LeaderOfThreeReplicas(params (string Key, string Value)[] overrides)
    {
        var harness = NewHarness(overrides);
        RegisterAsync(harness, 2, "b").GetAwaiter().GetResult();
        RegisterAsync(harness, 3, "c").GetAwaiter().GetResult();
        CreateAsync(harness, "r", [1, 2, 3]).GetAwaiter().GetResult();
        Assert.Equal(1, harness.Image.TopicsByName["r"].Partitions[0].Leader);
        return harness;
    }

    /// <summary>Broker 2 (rack b) leads "r", broker 1 follows; nothing fetches for it here, the test appends by hand.</summary>
    private (HandlerHarness Harness, Partition Partition) FollowerOfBroker2()
    {
        var harness = NewHarness(("replica.selector.class", RackAware), ("broker.rack", "a"));
        RegisterAsync(harness, 2, "b").GetAwaiter().GetResult();
        CreateAsync(harness, "r", [2, 1]).GetAwaiter().GetResult();
        Assert.Equal(2, harness.Image.TopicsByName["r"].Partitions[0].Leader);
        var partition = harness.Components.Services.Replicas.Get("r", 0)!;
        Assert.False(partition.IsLeader);
        return (harness, partition);
    }

    private static Task RegisterAsync(HandlerHarness harness, int id, string rack) =>
        harness.Components.Services.Topics.RegisterBrokerAsync(id, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9090 + id, 0)], rack, CancellationToken.None);

    private static async Task CreateAsync(HandlerHarness harness, string topic, int[] replicas)
    {
        var created = await harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic(topic, -1, -1, new Dictionary<int, IReadOnlyList<int>> { [0] = replicas }, new Dictionary<string, string?>())],
            false, CancellationToken.None);
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
    }

    private static void AppendAsFollower(Partition partition, long baseOffset, int records)
    {
        using var builder = new RecordBatchBuilder { BaseOffset = baseOffset, PartitionLeaderEpoch = partition.LeaderEpoch };
        for (var i = 0; i < records; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, [(byte)i]);
        }

        partition.Log.AppendAsFollower(builder.ToArray(), 1_700_000_000_000);
    }

    private static async Task ProduceAsync(HandlerHarness harness, int records)
    {
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < records; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, [(byte)i]);
        }

        var request = new ProduceRequest { Acks = 1, TimeoutMs = 30_000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "r",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = builder.ToArray() }],
        });
        var body = await harness.CallAsync(0, 9, request);
        var response = new ProduceResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, 9);
        Assert.Equal(ErrorCode.None, (ErrorCode)response.Responses[0].PartitionResponses[0].ErrorCode);
    }

    private static async Task ReplicaFetchAsync(HandlerHarness harness, int replicaId, long fetchOffset) =>
        Assert.Equal(ErrorCode.None, (await FetchAsync(harness, replicaId, fetchOffset, rack: "", version: 17)).Error);

    private static Task<FetchResult> ConsumerFetchAsync(HandlerHarness harness, long fetchOffset, string rack) =>
        FetchAsync(harness, replicaId: -1, fetchOffset, rack, version: 17);

    private static async Task<FetchResult> FetchAsync(HandlerHarness harness, int replicaId, long fetchOffset, string rack, short version,
        int maxWaitMs = 0, int minBytes = 0, int currentLeaderEpoch = -1)
    {
        var topicId = harness.Image.TopicsByName["r"].TopicId;
        var request = new FetchRequest { MaxWaitMs = maxWaitMs, MinBytes = minBytes, MaxBytes = 1 << 20, RackId = rack };
        if (version >= 15)
        {
            request.ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = replicaId, ReplicaEpoch = replicaId >= 0 ? 1 : -1 };
        }
        else
        {
            request.ReplicaId = replicaId;
        }

        request.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = "r",
            TopicId = topicId,
            Partitions =
            [
                new FetchRequest.FetchPartition
                {
                    Partition = 0, FetchOffset = fetchOffset, PartitionMaxBytes = 1 << 20, CurrentLeaderEpoch = currentLeaderEpoch,
                },
            ],
        });
        var body = await harness.CallAsync(1, version, request);
        var response = new FetchResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        var data = response.Responses[0].Partitions[0];
        return new FetchResult((ErrorCode)data.ErrorCode, data.HighWatermark, data.Records ?? default, data.PreferredReadReplica);
    }

    private static int RecordCount(ReadOnlyMemory<byte> records) => records.IsEmpty ? 0 : RecordBatchReader.ReadAll(records).Count;

    private sealed record FetchResult(ErrorCode Error, long HighWatermark, ReadOnlyMemory<byte> Records, int PreferredReadReplica);
}
