using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Server.Tests.Handlers;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Server.Tests.Raft;

/// <summary>
/// A node without controller.quorum.voters (a one-voter quorum of itself, no controller listener) answers DescribeQuorum
/// on its client listener, as Kafka's single combined node does.
/// </summary>
public sealed class SoleVoterHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new(new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000)));

    public void Dispose() => _harness.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task DescribeQuorum_NoVotersConfigured_ReportsItselfTheOnlyVoterAndLeader(short version)
    {
        Assert.Null(_harness.Components.Quorum);
        var body = await _harness.CallAsync(55, version, new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = MetadataTopic.TopicName, Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        });
        var response = new DescribeQuorumResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);

        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal(0, partition.ErrorCode);
        Assert.Equal(1, partition.LeaderId);
        Assert.Equal(1, partition.LeaderEpoch);
        var voter = Assert.Single(partition.CurrentVoters);
        Assert.Equal(1, voter.ReplicaId);
        Assert.Equal(partition.HighWatermark, voter.LogEndOffset);
        Assert.True(partition.HighWatermark > 0, "the LEADER_CHANGE batch and the bootstrap records are committed");
        Assert.Empty(partition.Observers);
    }
}
