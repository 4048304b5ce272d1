using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// The active controller's leader-imbalance check on three in-process KRaft nodes: a broker that stopped and came back
/// gets its preferred leaderships back within <c>leader.imbalance.check.interval.seconds</c>.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LeaderRebalanceTests
{
    private readonly ITestOutputHelper _output;

    public LeaderRebalanceTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task LeaderImbalanceCheck_BrokerRestartsAndRejoins_PreferredLeadershipComesBack()
    {
        const string Topic = "rebalanced";
        await using var cluster = await RaftCluster.StartAsync(_output, new Dictionary<string, string> { ["leader.imbalance.check.interval.seconds"] = "2" });
        var (quorumLeader, _) = await cluster.WaitForLeaderAsync();
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Values.Count(b => !b.Fenced) == 3),
            "every node sees three unfenced brokers");

        // Partition p prefers node p + 1.
        var created = await cluster.SendAsync<CreateTopicsResponse>(quorumLeader, new CreateTopicsRequest
        {
            TimeoutMs = 30_000,
            Topics =
            [
                new CreateTopicsRequest.CreatableTopic
                {
                    Name = Topic,
                    NumPartitions = -1,
                    ReplicationFactor = -1,
                    Assignments = [.. Enumerable.Range(0, 3).Select(p => new CreateTopicsRequest.CreatableReplicaAssignment
                    {
                        PartitionIndex = p,
                        BrokerIds = [p + 1, (p + 1) % 3 + 1, (p + 2) % 3 + 1],
                    })],
                },
            ],
        }, 7);
        Assert.Equal(0, Assert.Single(created.Topics).ErrorCode);
        var restarted = cluster.RunningNodes.First(n => n != quorumLeader);
        var preferredPartition = restarted - 1;
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => Leader(cluster, n, preferredPartition) == restarted),
            $"node {restarted} leads partition {preferredPartition}");

        await cluster.StopNodeAsync(restarted);
        var observer = quorumLeader;
        var interim = Leader(cluster, observer, preferredPartition);
        Assert.NotEqual(restarted, interim);

        await cluster.StartNodeAsync(restarted);
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => Leader(cluster, n, preferredPartition) == restarted),
            $"node {restarted} leads its preferred partition {preferredPartition} again", TimeSpan.FromSeconds(60));
        var partition = cluster.Node(observer).Metadata.TopicsByName[Topic].Partitions[preferredPartition];
        Assert.Contains(restarted, partition.Isr);
    }

    private static int Leader(RaftCluster cluster, int node, int partition) =>
        cluster.Node(node).Metadata.TopicsByName.TryGetValue("rebalanced", out var topic) ? topic.Partitions[partition].Leader : -2;
}
