using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>
/// Three combined nodes set up as Kafka 4's documentation sets up a dynamic quorum (bootstrap servers, storage formatted
/// with --initial-controllers); the voters come from storage and stay fixed. Not thread-safe: one instance per test.
/// </summary>
public sealed class DynamicQuorumTests
{
    private const string Topic = "dynamic-quorum";
    private readonly ITestOutputHelper _output;

    public DynamicQuorumTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task InitialControllers_ThreeNodes_VotersFromStorageElectAndServeAcksAllThroughALeaderKill()
    {
        await using var cluster = await ProcessCluster.StartDynamicQuorumAsync(_output);
        var (leader, epoch) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        var quorum = (await KafkaRequests.DescribeQuorumAsync(cluster.ControllerEndpoint(leader))).Topics[0].Partitions[0];
        Assert.Equal([1, 2, 3], quorum.CurrentVoters.Select(v => v.ReplicaId).Order());

        await cluster.CreateTopicAsync(Topic, 1);
        var partitionLeader = cluster.Partition(Topic, 0).Leader;
        // The partition leader may apply the new topic a moment after the broker that answered the admin client.
        await cluster.WaitUntilAsync(async () => await cluster.ProduceRawAsync(partitionLeader, Topic, 0, "before") == ErrorCode.NoError,
            "the partition leader acknowledges an acks=all write");

        // The voters were read from storage, so a new quorum leader is elected among them as with static voters.
        await cluster.KillAsync(leader);
        var (next, nextEpoch) = await cluster.WaitForQuorumLeaderAsync((node, e) => node != leader && e > epoch, "a new quorum leader");
        Assert.NotEqual(leader, next);
        Assert.True(nextEpoch > epoch);
        var survivor = await cluster.WaitForLeaderAsync(Topic, 0, node => node != leader, "a live leader");
        await cluster.WaitUntilAsync(async () => await cluster.ProduceRawAsync(survivor, Topic, 0, "after") == ErrorCode.NoError,
            "the new partition leader acknowledges an acks=all write");
    }
}
