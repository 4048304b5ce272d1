using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>
/// The leader's side of replication through the real Produce and Fetch handlers: broker 1 leads a partition replicated
/// to broker 2, whose fetches the test sends by hand (Fetch with a replica id), so the high watermark, acks=all,
/// min.insync.replicas and ISR changes are exercised exactly as a follower drives them.
/// </summary>
public sealed class LeaderReplicationTests : IDisposable
{
    private const long LagMs = 10_000;
    private readonly ManualClock _clock = new();
    private readonly HandlerHarness _harness;

    public LeaderReplicationTests()
    {
        _harness = new HandlerHarness(_clock, ("replica.lag.time.max.ms", LagMs.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var topics = _harness.Components.Services.Topics;
        topics.RegisterBrokerAsync(2, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9093, 0)], null, CancellationToken.None).GetAwaiter().GetResult();
        var created = topics.CreateTopicsAsync(
            [new NewTopic("r", -1, -1, new Dictionary<int, IReadOnlyList<int>> { [0] = [1, 2] }, new Dictionary<string, string?> { ["min.insync.replicas"] = "2" })],
            false, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.None, Assert.Single(created).Error);
    }

    public void Dispose() => _harness.Dispose();

    private PartitionInfo Info => _harness.Image.TopicsByName["r"].Partitions[0];

    private long HighWatermark => _harness.Components.Services.Replicas.Get("r", 0)!.Log.HighWatermark;

    [Fact]
    public async Task AcksAll_AnsweredOnceTheFollowerHasFetchedPastTheBatch_ConsumersSeeOnlyUpToTheHighWatermark()
    {
        Assert.Equal([1, 2], Info.Isr.ToArray());
        var produce = ProduceAsync(acks: -1, timeoutMs: 30_000, records: 3);
        await Task.Delay(50);
        Assert.False(produce.IsCompleted);

        var first = await FollowerFetchAsync(2, fetchOffset: 0);
        Assert.Equal(ErrorCode.None, first.Error);
        Assert.Equal(3, RecordCount(first.Records));
        Assert.Equal(0, first.HighWatermark);
        Assert.Equal(0, RecordCount((await ConsumerFetchAsync(0)).Records));
        Assert.False(produce.IsCompleted);

        var second = await FollowerFetchAsync(2, fetchOffset: 3);
        var (error, baseOffset) = await produce;

        Assert.Equal((ErrorCode.None, 0L), (error, baseOffset));
        Assert.Equal(3, second.HighWatermark);
        Assert.Equal(3, HighWatermark);
        Assert.Equal(3, RecordCount((await ConsumerFetchAsync(0)).Records));
    }

    [Fact]
    public async Task AcksAll_NoFollowerFetch_TimesOut_TheRecordsStayInTheLeadersLog()
    {
        var (error, _) = await ProduceAsync(acks: -1, timeoutMs: 200, records: 2);

        Assert.Equal(ErrorCode.RequestTimedOut, error);
        Assert.Equal(2, _harness.Components.Services.Replicas.Get("r", 0)!.Log.LogEndOffset);
        Assert.Equal(0, HighWatermark);
    }

    [Fact]
    public async Task LaggingFollower_LeavesTheIsr_ThenAcksAllIsNotEnoughReplicas_AndCatchingUpBringsItBack()
    {
        Assert.Equal(ErrorCode.None, (await ProduceAsync(acks: 1, timeoutMs: 1000, records: 2)).Error);
        await FollowerFetchAsync(2, fetchOffset: 0); // behind: the leader is at 2

        _clock.Advance(TimeSpan.FromMilliseconds(LagMs + 1));
        Assert.Equal(1, _harness.Components.Services.Replicas.CheckIsrShrink());
        await WaitUntil(() => Info.Isr.Length == 1);

        Assert.Equal([1], Info.Isr.ToArray());
        var refused = await ProduceAsync(acks: -1, timeoutMs: 1000, records: 1);
        Assert.Equal(ErrorCode.NotEnoughReplicas, refused.Error);

        // acks=1 is still taken, but with the ISR below min.insync.replicas the high watermark stays where it was.
        Assert.Equal(ErrorCode.None, (await ProduceAsync(acks: 1, timeoutMs: 1000, records: 1)).Error);
        Assert.Equal(0, HighWatermark);

        // The follower catches up to the leader's end: it rejoins, and the high watermark follows it.
        var caughtUp = await FollowerFetchAsync(2, fetchOffset: 3);
        Assert.Equal(ErrorCode.None, caughtUp.Error);
        await WaitUntil(() => Info.Isr.Length == 2);
        Assert.Equal([1, 2], Info.Isr.ToArray());
        await WaitUntil(() => HighWatermark == 3);
    }

    [Fact]
    public async Task FollowerWithMoreDataInTheEpochThanTheLeader_GetsItsDivergingEpoch()
    {
        Assert.Equal(ErrorCode.None, (await ProduceAsync(acks: 1, timeoutMs: 1000, records: 2)).Error);

        var diverged = await FollowerFetchAsync(2, fetchOffset: 5, lastFetchedEpoch: 0);

        Assert.Equal(ErrorCode.None, diverged.Error);
        Assert.Equal((0, 2L), diverged.Diverging);
        Assert.Equal(0, RecordCount(diverged.Records));
    }

    [Fact]
    public async Task FetchFromABrokerThatIsNotAReplica_NotLeaderOrFollower()
    {
        await _harness.Components.Services.Topics.RegisterBrokerAsync(3, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9094, 0)], null, CancellationToken.None);

        var stranger = await FollowerFetchAsync(3, fetchOffset: 0);

        Assert.Equal(ErrorCode.NotLeaderOrFollower, stranger.Error);
    }

    [Fact]
    public async Task FollowerFetch_OlderVersionsCarryTheReplicaIdAtTopLevel()
    {
        Assert.Equal(ErrorCode.None, (await ProduceAsync(acks: 1, timeoutMs: 1000, records: 2)).Error);

        await FollowerFetchAsync(2, fetchOffset: 2, version: 12);

        Assert.Equal(2, HighWatermark);
    }

    [Fact]
    public async Task AlterPartition_ControllerValidatesEpochsAndEligibility()
    {
        var topics = _harness.Components.Services.Topics;
        var info = Info;
        var topicId = _harness.Image.TopicsByName["r"].TopicId;

        var stalePartitionEpoch = await topics.AlterPartitionAsync(new AlterIsrRequest(topicId, 0, 1, info.LeaderEpoch, info.PartitionEpoch - 1, [1]), CancellationToken.None);
        var staleLeaderEpoch = await topics.AlterPartitionAsync(new AlterIsrRequest(topicId, 0, 1, info.LeaderEpoch - 1, info.PartitionEpoch, [1]), CancellationToken.None);
        var notAReplica = await topics.AlterPartitionAsync(new AlterIsrRequest(topicId, 0, 1, info.LeaderEpoch, info.PartitionEpoch, [1, 3]), CancellationToken.None);
        var withoutLeader = await topics.AlterPartitionAsync(new AlterIsrRequest(topicId, 0, 1, info.LeaderEpoch, info.PartitionEpoch, [2]), CancellationToken.None);
        var fromFollower = await topics.AlterPartitionAsync(new AlterIsrRequest(topicId, 0, 2, info.LeaderEpoch, info.PartitionEpoch, [2]), CancellationToken.None);
        var unchanged = await topics.AlterPartitionAsync(new AlterIsrRequest(topicId, 0, 1, info.LeaderEpoch, info.PartitionEpoch, [2, 1]), CancellationToken.None);
        var shrink = await topics.AlterPartitionAsync(new AlterIsrRequest(topicId, 0, 1, info.LeaderEpoch, info.PartitionEpoch, [1]), CancellationToken.None);

        Assert.Equal(ErrorCode.InvalidUpdateVersion, stalePartitionEpoch.Error);
        Assert.Equal(ErrorCode.FencedLeaderEpoch, staleLeaderEpoch.Error);
        Assert.Equal(ErrorCode.IneligibleReplica, notAReplica.Error);
        Assert.Equal(ErrorCode.InvalidRequest, withoutLeader.Error);
        Assert.Equal(ErrorCode.InvalidRequest, fromFollower.Error);
        Assert.Equal((ErrorCode.None, info.PartitionEpoch), (unchanged.Error, unchanged.Partition!.PartitionEpoch));
        Assert.Equal(ErrorCode.None, shrink.Error);
        Assert.Equal([1], shrink.Partition!.Isr.ToArray());
        Assert.Equal(info.PartitionEpoch + 1, shrink.Partition.PartitionEpoch);
        Assert.Equal(info.LeaderEpoch, shrink.Partition.LeaderEpoch);
        Assert.Equal([1], _harness.Components.Services.Replicas.Get("r", 0)!.Replicas!.Isr);
    }

    [Fact]
    public async Task LeaderThrottle_OutOfSyncFollowerGetsNoRecordsWhileOverTheRate_InSyncFollowerNeverHeldBack()
    {
        Assert.Equal(ErrorCode.None, await AlterConfigAsync(4, "1", "leader.replication.throttled.rate", "1"));
        Assert.Equal(ErrorCode.None, await AlterConfigAsync(2, "r", "leader.replication.throttled.replicas", "0:1"));
        Assert.Equal(ErrorCode.None, await AlterConfigAsync(2, "r", "follower.replication.throttled.replicas", "0:3"));
        var throttle = _harness.Components.Services.ReplicationQuotas.Leader;
        Assert.Equal(1, throttle.Bound);
        Assert.True(throttle.IsThrottled("r", 0));
        Assert.Equal(ErrorCode.None, (await ProduceAsync(acks: 1, timeoutMs: 1000, records: 3)).Error);

        // In the ISR: served whatever the rate, and what it is sent counts against the throttle.
        Assert.Equal(3, RecordCount((await FollowerFetchAsync(2, fetchOffset: 0)).Records));
        var nowMs = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.True(throttle.IsExceeded(nowMs), $"rate {throttle.RateBytesPerSecond(nowMs)} B/s against a bound of 1");

        // Out of the ISR (it did not catch up for replica.lag.time.max.ms) and behind the high watermark, which the leader
        // alone moves on with min.insync.replicas 1: nothing while the rate is over the bound.
        Assert.Equal(ErrorCode.None, await AlterConfigAsync(2, "r", "min.insync.replicas", "1"));
        _clock.Advance(TimeSpan.FromMilliseconds(LagMs + 1));
        Assert.Equal(1, _harness.Components.Services.Replicas.CheckIsrShrink());
        await WaitUntil(() => Info.Isr.Length == 1);
        Assert.Equal(ErrorCode.None, (await ProduceAsync(acks: 1, timeoutMs: 1000, records: 2)).Error);
        await WaitUntil(() => HighWatermark == 5);
        var held = await FollowerFetchAsync(2, fetchOffset: 3);
        Assert.Equal((ErrorCode.None, 0), (held.Error, RecordCount(held.Records)));
        Assert.Equal([1], Info.Isr.ToArray());

        // Once the samples of the window (11 x 1 s) have passed, the rate is back under the bound and it is served.
        _clock.Advance(TimeSpan.FromSeconds(12));
        Assert.Equal(2, RecordCount((await FollowerFetchAsync(2, fetchOffset: 3)).Records));

        // Throttle removed: served at once, however fast.
        Assert.Equal(ErrorCode.None, await AlterConfigAsync(4, "1", "leader.replication.throttled.rate", null));
        Assert.Equal(ReplicationQuota.Unlimited, throttle.Bound);
        Assert.Equal(5, RecordCount((await FollowerFetchAsync(2, fetchOffset: 0)).Records));
    }

    [Fact]
    public async Task ThrottledReplicasConfig_NotPartitionBrokerPairs_InvalidConfigNamingTheKey()
    {
        var (error, message) = await AlterConfigWithMessageAsync(2, "r", "leader.replication.throttled.replicas", "0-1");

        Assert.Equal(ErrorCode.InvalidConfig, error);
        Assert.Contains("leader.replication.throttled.replicas", message, StringComparison.Ordinal);
        Assert.Contains("[partitionId]:[brokerId]", message, StringComparison.Ordinal);
        Assert.False(_harness.Components.Services.ReplicationQuotas.Leader.IsThrottled("r", 0));
    }

    [Fact]
    public async Task Metadata_ReplicaOfAnUnregisteredBroker_ListedOfflineInMetadataAndDescribeTopicPartitions()
    {
        Assert.Empty((await MetadataPartitionAsync()).OfflineReplicas);

        Assert.Equal(ErrorCode.None, await _harness.Components.Services.BrokerLifecycle.UnregisterAsync(2, CancellationToken.None));

        var partition = await MetadataPartitionAsync();
        Assert.Equal([1, 2], partition.ReplicaNodes.ToArray());
        Assert.Equal([2], partition.OfflineReplicas.ToArray());
        var body = await _harness.CallAsync(75, 0, new DescribeTopicPartitionsRequest
        {
            Topics = [new DescribeTopicPartitionsRequest.TopicRequest { Name = "r" }],
            ResponsePartitionLimit = 10,
        });
        var described = new DescribeTopicPartitionsResponse();
        var reader = new KafkaReader(body);
        described.Read(ref reader, 0);
        Assert.Equal([2], described.Topics.Single().Partitions.Single().OfflineReplicas.ToArray());
    }

    private async Task<MetadataResponse.MetadataResponsePartition> MetadataPartitionAsync()
    {
        var body = await _harness.CallAsync(3, 12, new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = "r" }] });
        var response = new MetadataResponse();
        var reader = new KafkaReader(body);
        response.Read(ref reader, 12);
        return response.Topics.Single().Partitions.Single();
    }

    private async Task<ErrorCode> AlterConfigAsync(sbyte resourceType, string resource, string key, string? value) =>
        (await AlterConfigWithMessageAsync(resourceType, resource, key, value)).Error;

    /// <summary>IncrementalAlterConfigs (v1) of one key: SET a value, or DELETE it when <paramref name="value"/> is null.</summary>
    private async Task<(ErrorCode Error, string? Message)> AlterConfigWithMessageAsync(sbyte resourceType, string resource, string key, string? value)
    {
        var request = new IncrementalAlterConfigsRequest();
        request.Resources.Add(new IncrementalAlterConfigsRequest.AlterConfigsResource
        {
            ResourceType = resourceType,
            ResourceName = resource,
            Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, ConfigOperation = (sbyte)(value is null ? 1 : 0), Value = value }],
        });
        var body = await _harness.CallAsync(44, 1, request);
        var response = new IncrementalAlterConfigsResponse();
        var reader = new KafkaReader(body);
        response.Read(ref reader, 1);
        var result = Assert.Single(response.Responses);
        return ((ErrorCode)result.ErrorCode, result.ErrorMessage);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    private static int RecordCount(ReadOnlyMemory<byte> records) => records.IsEmpty ? 0 : RecordBatchReader.ReadAll(records).Count;

    private async Task<(ErrorCode Error, long BaseOffset)> ProduceAsync(short acks, int timeoutMs, int records)
    {
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < records; i++)
        {
            builder.Append(_clock.GetUtcNow().ToUnixTimeMilliseconds(), null, [(byte)i]);
        }

        var request = new ProduceRequest { Acks = acks, TimeoutMs = timeoutMs };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "r",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = builder.ToArray() }],
        });
        var body = await _harness.CallAsync(0, 9, request);
        if (body is null)
        {
            return (ErrorCode.None, -1);
        }

        var response = new ProduceResponse();
        var reader = new KafkaReader(body);
        response.Read(ref reader, 9);
        var partition = response.Responses[0].PartitionResponses[0];
        return ((ErrorCode)partition.ErrorCode, partition.BaseOffset);
    }

    private Task<FetchResult> FollowerFetchAsync(int replicaId, long fetchOffset, int lastFetchedEpoch = -1, short version = 17) =>
        FetchAsync(replicaId, fetchOffset, lastFetchedEpoch, version);

    private Task<FetchResult> ConsumerFetchAsync(long fetchOffset) => FetchAsync(-1, fetchOffset, -1, 17);

    private async Task<FetchResult> FetchAsync(int replicaId, long fetchOffset, int lastFetchedEpoch, short version)
    {
        var topicId = _harness.Image.TopicsByName["r"].TopicId;
        var request = new FetchRequest { MaxWaitMs = 0, MinBytes = 0, MaxBytes = 1 << 20 };
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
            Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = fetchOffset, LastFetchedEpoch = lastFetchedEpoch, PartitionMaxBytes = 1 << 20 }],
        });
        var body = await _harness.CallAsync(1, version, request);
        var response = new FetchResponse();
        var reader = new KafkaReader(body);
        response.Read(ref reader, version);
        var data = response.Responses[0].Partitions[0];
        return new FetchResult((ErrorCode)data.ErrorCode, data.HighWatermark, data.Records ?? default, (data.DivergingEpoch.Epoch, data.DivergingEpoch.EndOffset));
    }

    private sealed record FetchResult(ErrorCode Error, long HighWatermark, ReadOnlyMemory<byte> Records, (int Epoch, long EndOffset) Diverging);

    /// <summary>A wall clock the test moves by hand; timers stay real, so request timeouts still fire.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _nowMs));

        public void Advance(TimeSpan by) => Interlocked.Add(ref _nowMs, (long)by.TotalMilliseconds);
    }
}
