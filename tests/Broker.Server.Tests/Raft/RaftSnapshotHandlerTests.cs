using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Server.Tests.Handlers;

namespace Broker.Server.Tests.Raft;

/// <summary>
/// Fetch and FetchSnapshot through their handlers on a single-voter KRaft node that snapshots after every commit
/// (<c>metadata.log.max.record.bytes.between.snapshots</c> = 1) and keeps as few as retention allows
/// (<c>metadata.max.retention.bytes</c> = 0, checked at every append): a fetch from offset 0 is told the latest snapshot
/// id, and the snapshot is served in chunks.
/// </summary>
public sealed class RaftSnapshotHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new(new FixedTime(DateTimeOffset.UnixEpoch.AddDays(20000)),
        ("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"),
        ("advertised.listeners", "PLAINTEXT://127.0.0.1:9092"),
        ("controller.listener.names", "CONTROLLER"),
        ("controller.quorum.voters", "1@127.0.0.1:9093"),
        ("metadata.log.max.record.bytes.between.snapshots", "1"),
        ("metadata.max.retention.bytes", "0"),
        ("metadata.retention.check.interval.ms", "0"));

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task FetchThenFetchSnapshot_BelowTheLogStart_SnapshotIdThenChunksThatRebuildTheImage()
    {
        // Retention needs two snapshots to remove one; the quorum's own loop applies it, so wait until it has.
        var store = _harness.Components.Quorum!.Store;
        for (var i = 0; i < 3; i++)
        {
            await store.CommitAsync([new NoOpRecord()], CancellationToken.None);
        }

        for (var waited = 0; store.Snapshots.LogStartOffset == 0 && waited < 10_000; waited += 10)
        {
            await Task.Delay(10);
        }

        var epoch = (await CallAsync<DescribeQuorumResponse>(55, 1, new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic.TopicName, Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        })).Topics[0].Partitions[0].LeaderEpoch;

        var fetch = await CallAsync<FetchResponse>(1, 17, new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = 7 },
            MaxWaitMs = 0,
            MaxBytes = 1 << 20,
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    TopicId = MetadataTopic.TopicId,
                    Partitions = [new FetchRequest.FetchPartition { Partition = 0, CurrentLeaderEpoch = epoch, FetchOffset = 0, LastFetchedEpoch = 0 }],
                },
            ],
        });

        var partition = Assert.Single(Assert.Single(fetch.Responses).Partitions);
        Assert.Equal(0, partition.ErrorCode);
        Assert.True(partition.SnapshotId.EndOffset > 0, "the fetch below the log start names a snapshot");
        // Retention ran at the last append, before that append's snapshot: the log starts at the snapshot before it, or at it.
        Assert.InRange(partition.LogStartOffset, 1, partition.SnapshotId.EndOffset);
        Assert.True(partition.Records is null or { Length: 0 });

        var content = new List<byte>();
        long size = -1;
        var chunks = 0;
        while (size < 0 || content.Count < size)
        {
            var request = new FetchSnapshotRequest { ReplicaId = 7, MaxBytes = 64 };
            var wanted = new FetchSnapshotRequest.PartitionSnapshot { Partition = 0, CurrentLeaderEpoch = epoch, Position = content.Count };
            wanted.SnapshotId.EndOffset = partition.SnapshotId.EndOffset;
            wanted.SnapshotId.Epoch = partition.SnapshotId.Epoch;
            request.Topics.Add(new FetchSnapshotRequest.TopicSnapshot { Name = MetadataTopic.TopicName, Partitions = [wanted] });

            var answer = Assert.Single(Assert.Single((await CallAsync<FetchSnapshotResponse>(59, 1, request)).Topics).Partitions);

            Assert.Equal(0, answer.ErrorCode);
            Assert.Equal(content.Count, answer.Position);
            Assert.InRange(answer.UnalignedRecords!.Value.Length, 1, 64);
            size = answer.Size;
            content.AddRange(answer.UnalignedRecords!.Value.ToArray());
            chunks++;
        }

        Assert.True(chunks > 1);
        var image = MetadataSnapshot.Read(content.ToArray(), _harness.Image.ClusterId, 1, partition.SnapshotId.EndOffset, "fetched");
        Assert.Equal(_harness.Image.Brokers.Keys, image.Brokers.Keys);
        Assert.Equal(_harness.Image.FinalizedFeatures, image.FinalizedFeatures);
    }

    [Fact]
    public async Task FetchSnapshot_NoReplicaId_InvalidRequest()
    {
        var response = await CallAsync<FetchSnapshotResponse>(59, 0, new FetchSnapshotRequest { ReplicaId = -1 });

        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
    }

    private async Task<TResponse> CallAsync<TResponse>(short apiKey, short version, IApiMessage request)
        where TResponse : IApiMessage, new()
    {
        var body = await _harness.CallAsync(apiKey, version, request);
        var response = new TResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        return response;
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
