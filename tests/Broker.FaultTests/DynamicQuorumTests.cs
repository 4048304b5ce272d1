using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Broker.Storage;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>
/// Three combined nodes set up as Kafka 4's documentation sets up a dynamic quorum (bootstrap servers, storage formatted
/// with --initial-controllers, or --standalone and --no-initial-controllers and then add-controller). Not thread-safe:
/// one instance per test.
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

    [Fact]
    public async Task Standalone_AddTwoControllersWithTheCliThenRemoveOne_VotersFollowAndTopicsKeepBeingCreated()
    {
        await using var cluster = await ProcessCluster.StartStandaloneQuorumAsync(_output);
        var (leader, _) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        Assert.Equal(1, leader);
        Assert.Equal(new[] { 1 }, await VotersAsync(cluster));
        await cluster.CreateTopicAsync(Topic + "-1", 1);

        foreach (var node in new[] { 2, 3 })
        {
            // The observer must have caught up once; until then the leader answers REQUEST_TIMED_OUT, so retry.
            await cluster.WaitUntilAsync(async () =>
            {
                var add = await cluster.RunToolAsync("metadata-quorum", "--bootstrap-controller", cluster.BootstrapControllers,
                    "--command-config", cluster.ConfigFile(node), "add-controller");
                _output.WriteLine($"add-controller {node}: exit {add.ExitCode} {add.StandardOutput.Trim()} {add.StandardError.Trim()}");
                return add.ExitCode == 0;
            }, $"add-controller adds node {node}");
        }

        Assert.Equal(new[] { 1, 2, 3 }, await VotersAsync(cluster));
        var status = await cluster.RunToolAsync("metadata-quorum", "--bootstrap-controller", cluster.BootstrapControllers, "describe", "--status");
        Assert.True(status.ExitCode == 0, status.Describe());
        _output.WriteLine(status.StandardOutput);
        var dir3 = LogDirFormat.Read(cluster.LogDir(3))!.DirectoryIdText;
        Assert.Contains($"\"id\": 3, \"directoryId\": \"{dir3}\"", status.StandardOutput, StringComparison.Ordinal);
        await cluster.CreateTopicAsync(Topic + "-3", 1);

        // The added voters really vote: with the first controller killed, they elect one of themselves.
        var (_, epoch) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        await cluster.KillAsync(1);
        var (next, _) = await cluster.WaitForQuorumLeaderAsync((node, e) => node != 1 && e > epoch, "a new quorum leader among the added voters");
        _output.WriteLine($"node {next} leads after node 1 was killed");
        // The new controller fences the dead broker (and the admin client's metadata, refreshed here, names a live controller).
        await cluster.WaitUntilAsync(() => cluster.Partition(Topic + "-3", 0) is { Leader: > 0 and not 1 } metadata && !metadata.InSyncReplicas.Contains(1),
            "a survivor leads the partition with node 1 out of its ISR");

        // Replication factor 2: broker 1 is down (and fenced) for this one.
        await cluster.CreateTopicEventuallyAsync(Topic + "-after-kill", 1, 2);
        cluster.Start(1);
        await cluster.WaitForBrokersAsync([1]);

        var remove = await cluster.RunToolAsync("metadata-quorum", "--bootstrap-controller", cluster.BootstrapControllers,
            "remove-controller", "--controller-id", "3", "--controller-directory-id", dir3);
        Assert.True(remove.ExitCode == 0, remove.Describe());
        Assert.Equal(new[] { 1, 2 }, await VotersAsync(cluster));
        // Node 3 may have been the leader: it resigned once its removal committed, so creation waits for the next one.
        await cluster.CreateTopicEventuallyAsync(Topic + "-2", 1);
        var replication = await cluster.RunToolAsync("metadata-quorum", "--bootstrap-controller", cluster.BootstrapControllers, "describe", "--replication");
        Assert.True(replication.ExitCode == 0, replication.Describe());
        Assert.Contains("Observer", replication.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpdateVoter_FollowerRestartedAdvertisingAnotherControllerHost_TheVoterSetRecordsItAndTheQuorumGoesOn()
    {
        await using var cluster = await ProcessCluster.StartDynamicQuorumAsync(_output);
        var (leader, _) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        await cluster.CreateTopicAsync(Topic, 1);
        var follower = cluster.Nodes.First(n => n != leader);
        var port = cluster.ControllerEndpoint(follower).Port;
        Assert.Equal(("127.0.0.1", port), await RecordedEndpointAsync(cluster, follower));

        // The storage tool recorded 127.0.0.1; the restarted follower advertises its controller listener as localhost.
        await cluster.TerminateAsync(follower);
        var lines = (await File.ReadAllLinesAsync(cluster.ConfigFile(follower))).ToList();
        var advertised = lines.FindIndex(l => l.StartsWith("advertised.listeners=", StringComparison.Ordinal));
        lines[advertised] += $",CONTROLLER://localhost:{port}";
        await File.WriteAllLinesAsync(cluster.ConfigFile(follower), lines);
        cluster.Start(follower);

        // It follows, sends UpdateRaftVoter after three fetch timeouts, and the leader commits the new record.
        await cluster.WaitUntilAsync(async () => await RecordedEndpointAsync(cluster, follower) == ("localhost", port),
            $"the voter set records node {follower} at localhost:{port}");
        Assert.Equal(new[] { 1, 2, 3 }, await VotersAsync(cluster));
        await cluster.CreateTopicEventuallyAsync(Topic + "-after-update", 1);
    }

    [Fact]
    public async Task AutoJoin_StandaloneThenTwoObserverControllers_JoinWithoutTheCliAndVote()
    {
        await using var cluster = await ProcessCluster.StartStandaloneQuorumAsync(_output, ("controller.quorum.auto.join.enable", "true"));
        var (leader, epoch) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        Assert.Equal(1, leader);

        // Nodes 2 and 3 were formatted with --no-initial-controllers: they follow as observers, then add themselves.
        await cluster.WaitUntilAsync(async () => (await VotersAsync(cluster)).SequenceEqual([1, 2, 3]),
            "nodes 2 and 3 join the voters on their own");
        await cluster.CreateTopicAsync(Topic, 1);

        // They really vote: with node 1 killed, they elect one of themselves.
        await cluster.KillAsync(1);
        var (next, _) = await cluster.WaitForQuorumLeaderAsync((node, e) => node != 1 && e > epoch, "a new quorum leader among the joined voters");
        _output.WriteLine($"node {next} leads after node 1 was killed");
    }

    /// <summary>The first endpoint the quorum leader's voter set records for <paramref name="node"/> (DescribeQuorum v2).</summary>
    private static async Task<(string Host, int Port)> RecordedEndpointAsync(ProcessCluster cluster, int node)
    {
        var (leader, _) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [new DescribeQuorumRequest.PartitionData()] }],
        };
        var response = await KafkaRequests.SendAsync<DescribeQuorumResponse>(cluster.ControllerEndpoint(leader), request, 2, 10_000);
        var listener = response.Nodes.Single(n => n.NodeId == node).Listeners[0];
        return (listener.Host, listener.Port);
    }

    /// <summary>The voter ids the quorum leader reports (DescribeQuorum), once some node answers as leader.</summary>
    private static async Task<int[]> VotersAsync(ProcessCluster cluster)
    {
        var (leader, _) = await cluster.WaitForQuorumLeaderAsync((_, _) => true, "the quorum leader");
        var quorum = (await KafkaRequests.DescribeQuorumAsync(cluster.ControllerEndpoint(leader))).Topics[0].Partitions[0];
        return [.. quorum.CurrentVoters.Select(v => v.ReplicaId).Order()];
    }
}
