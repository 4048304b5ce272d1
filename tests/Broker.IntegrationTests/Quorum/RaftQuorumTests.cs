using Broker.Cluster.Raft;
using Broker.IntegrationTests.Cluster;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol.Messages;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Quorum;

/// <summary>
/// The KRaft metadata quorum over real sockets: three combined nodes elect a leader, replicate metadata written through
/// librdkafka's AdminClient, survive the loss of the leader and of a majority, and restarted nodes rejoin from their logs.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class RaftQuorumTests
{
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(20);
    private readonly ITestOutputHelper _output;

    public RaftQuorumTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task StartAsync_ThreeVoters_ElectOneLeaderAndDescribeQuorumShowsCaughtUpVoters()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);

        var (leader, epoch) = await cluster.WaitForLeaderAsync();
        Assert.True(epoch >= 1);
        await WaitForBrokersAsync(cluster, 3);

        // Every voter fetches up to the leader's high watermark: all three end offsets equal it.
        DescribeQuorumResponse.PartitionData partition = null!;
        await InProcessCluster.WaitUntilAsync(() =>
        {
            partition = cluster.DescribeQuorumAsync(leader).GetAwaiter().GetResult().Topics[0].Partitions[0];
            return partition.CurrentVoters.Count == 3 && partition.CurrentVoters.All(v => v.LogEndOffset == partition.HighWatermark);
        }, "every voter's log end equals the high watermark");
        Assert.Equal(0, partition.ErrorCode);
        Assert.Equal(leader, partition.LeaderId);
        Assert.Equal(new[] { 1, 2, 3 }, partition.CurrentVoters.Select(v => v.ReplicaId).Order());
        Assert.True(partition.HighWatermark > 0);
        Assert.All(partition.CurrentVoters, v => Assert.True(v.LastCaughtUpTimestamp > 0));

        // A follower refuses DescribeQuorum and names the leader, as Kafka's do.
        var follower = cluster.RunningNodes.First(n => n != leader);
        var refused = (await cluster.DescribeQuorumAsync(follower)).Topics[0].Partitions[0];
        Assert.Equal((short)Broker.Protocol.ErrorCode.NotLeaderOrFollower, refused.ErrorCode);
        Assert.Equal(leader, refused.LeaderId);

        // Clients are told the quorum leader is the controller.
        using var admin = KafkaClients.Admin(cluster.Node(follower).BootstrapServers, _output);
        var described = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = KafkaClients.RequestTimeout });
        Assert.Equal(leader, described.Controller.Id);
        Assert.Equal(3, described.Nodes.Count);
    }

    [Fact]
    public async Task CreateTopics_LeaderStoppedThenMajorityLost_FailsOverRefusesWithoutQuorumAndRestartedNodesRejoin()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        var (leader, firstEpoch) = await cluster.WaitForLeaderAsync();
        await WaitForBrokersAsync(cluster, 3);

        // Created through a node that does not lead: the client sends CreateTopics to the controller it is told of.
        var follower = cluster.RunningNodes.First(n => n != leader);
        await CreateTopicAsync(cluster.Node(follower).BootstrapServers, "raft-a", partitions: 3);
        await WaitForTopicEverywhereAsync(cluster, "raft-a");

        // The leader goes (resigning first): the other two elect a new one within a few seconds, and metadata can still be written.
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await cluster.StopNodeAsync(leader);
        var (second, secondEpoch) = await cluster.WaitForLeaderAsync(FailoverTimeout);
        _output.WriteLine($"new leader {second} {stopping.ElapsedMilliseconds} ms after stopping leader {leader}");
        Assert.NotEqual(leader, second);
        Assert.True(secondEpoch > firstEpoch);
        await CreateTopicAsync(cluster.BootstrapServers, "raft-b", partitions: 1);
        await WaitForTopicEverywhereAsync(cluster, "raft-b");

        // One of two left: no majority, so no leader can commit; creation fails cleanly, existing metadata is still served.
        await cluster.StopNodeAsync(second);
        var survivor = Assert.Single(cluster.RunningNodes);
        await InProcessCluster.WaitUntilAsync(() => cluster.Node(survivor).QuorumState!.Value.Role != RaftRole.Leader,
            "the survivor does not lead (check-quorum resigns a leader without a majority)", FailoverTimeout);
        using (var admin = KafkaClients.Admin(cluster.Node(survivor).BootstrapServers, _output))
        {
            var error = await Assert.ThrowsAnyAsync<KafkaException>(() => admin.CreateTopicsAsync(
                [new TopicSpecification { Name = "raft-c", NumPartitions = 1, ReplicationFactor = 1 }],
                new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(5), OperationTimeout = TimeSpan.FromSeconds(5) }));
            _output.WriteLine($"creation without quorum: {error.Message}");
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(15));
            Assert.Contains(metadata.Topics, t => t.Topic == "raft-a" && t.Error.Code == global::Confluent.Kafka.ErrorCode.NoError);
            Assert.Contains(metadata.Topics, t => t.Topic == "raft-b");
        }

        Assert.False(cluster.Node(survivor).Metadata.TopicsByName.ContainsKey("raft-c"));

        // The stopped nodes restart from their logs and quorum-state: a leader again, at a later epoch, and writes work.
        await Task.WhenAll(cluster.StartNodeAsync(leader), cluster.StartNodeAsync(second));
        var (third, thirdEpoch) = await cluster.WaitForLeaderAsync(FailoverTimeout);
        Assert.True(thirdEpoch > secondEpoch, $"epoch {thirdEpoch} after {secondEpoch}");
        _output.WriteLine($"leaders {leader} (epoch {firstEpoch}), {second} ({secondEpoch}), {third} ({thirdEpoch})");
        await WaitForTopicEverywhereAsync(cluster, "raft-b");
        await CreateTopicAsync(cluster.BootstrapServers, "raft-d", partitions: 1);
        await WaitForTopicEverywhereAsync(cluster, "raft-d");
        await WaitForBrokersAsync(cluster, 3);
        foreach (var node in cluster.RunningNodes)
        {
            Assert.Equal(cluster.Node(third).Metadata.TopicsByName.Keys.Order(), cluster.Node(node).Metadata.TopicsByName.Keys.Order());
        }
    }

    [Fact]
    public async Task CreateTopics_SentToFollower_ForwardedToTheControllerInAnEnvelope()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        await WaitForBrokersAsync(cluster, 3);
        var follower = cluster.RunningNodes.First(n => n != leader);

        // Straight to the follower's client listener (librdkafka would go to the controller itself).
        var request = new CreateTopicsRequest
        {
            TimeoutMs = 15_000,
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = "forwarded", NumPartitions = 2, ReplicationFactor = 1 }],
        };
        var response = await cluster.SendAsync<CreateTopicsResponse>(follower, request, 7);

        var topic = Assert.Single(response.Topics);
        Assert.Equal("forwarded", topic.Name);
        Assert.Equal(0, topic.ErrorCode);
        Assert.Equal(2, topic.NumPartitions);
        Assert.NotEqual(Guid.Empty, topic.TopicId);
        await WaitForTopicEverywhereAsync(cluster, "forwarded");
        Assert.Equal(topic.TopicId, cluster.Node(follower).Metadata.TopicsByName["forwarded"].TopicId);

        // A second create of the same name is refused by the controller, and the refusal comes back the same way.
        var again = await cluster.SendAsync<CreateTopicsResponse>(follower, request, 7);
        Assert.Equal((short)Broker.Protocol.ErrorCode.TopicAlreadyExists, Assert.Single(again.Topics).ErrorCode);
    }

    [Fact]
    public async Task Produce_ReplicatedTopicOnRaftCluster_IdempotentAcksAllAndIdenticalReplicas()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        await cluster.WaitForLeaderAsync();
        await WaitForBrokersAsync(cluster, 3);

        // Producer ids come from the controller on every node: distinct blocks, whoever leads.
        var ids = new List<long>();
        foreach (var node in cluster.RunningNodes)
        {
            var init = await cluster.SendAsync<InitProducerIdResponse>(node, new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, 4);
            Assert.Equal(0, init.ErrorCode);
            ids.Add(init.ProducerId);
        }

        Assert.Equal(3, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(id >= 0));

        using (var admin = KafkaClients.Admin(cluster.BootstrapServers, _output))
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = "raft-rf3", NumPartitions = 1, ReplicationFactor = 3, Configs = new() { ["min.insync.replicas"] = "2" } }],
                new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                .WaitAsync(TimeSpan.FromSeconds(30));
        }

        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Replicas.Get("raft-rf3", 0) is not null),
            "every node hosts a replica of raft-rf3");
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(cluster.BootstrapServers), _output))
        {
            var delivered = 0;
            for (var i = 0; i < 300; i++)
            {
                producer.Produce("raft-rf3", new Message<string, string> { Key = $"k{i}", Value = $"v{i}" }, report =>
                {
                    Assert.Equal(global::Confluent.Kafka.ErrorCode.NoError, report.Error.Code);
                    Interlocked.Increment(ref delivered);
                });
            }

            producer.Flush(TimeSpan.FromSeconds(60));
            Assert.Equal(300, Volatile.Read(ref delivered));
        }

        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Replicas.Get("raft-rf3", 0)!.Log.LogEndOffset == 300),
            "every replica of raft-rf3 holds the 300 records");
        var leaderBytes = InProcessCluster.ReadAll(cluster.Node(1).Replicas.Get("raft-rf3", 0)!.Log);
        foreach (var node in cluster.RunningNodes)
        {
            Assert.Equal(leaderBytes, InProcessCluster.ReadAll(cluster.Node(node).Replicas.Get("raft-rf3", 0)!.Log));
        }
    }

    [Fact]
    public async Task Produce_PartitionLeaderStopped_SessionExpiresLeadershipMovesNothingLostAndTheNodeRejoins()
    {
        const string Topic = "raft-failover";
        await using var cluster = await RaftCluster.StartAsync(_output);
        await cluster.WaitForLeaderAsync();
        await WaitForBrokersAsync(cluster, 3);
        using (var admin = KafkaClients.Admin(cluster.BootstrapServers, _output))
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = 3, Configs = new() { ["min.insync.replicas"] = "2" } }],
                new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
                .WaitAsync(TimeSpan.FromSeconds(30));
        }

        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Replicas.Get(Topic, 0) is not null),
            "every node hosts a replica of " + Topic);
        var bootstrap = cluster.BootstrapServers;
        ProduceAll(bootstrap, Topic, 0, 200);

        // The partition leader stops without a controlled shutdown (as a crashed broker would, for the controller):
        // nothing moves until its session expires, then the controller fences it and elects a live ISR member.
        var before = Partition(cluster.Node(cluster.RunningNodes.First()), Topic)!;
        var stopped = before.Leader;
        await cluster.StopNodeAsync(stopped, controlledShutdown: false);
        var observer = cluster.RunningNodes.First();
        await InProcessCluster.WaitUntilAsync(() =>
        {
            var now = Partition(cluster.Node(observer), Topic)!;
            return now.Leader >= 0 && now.Leader != stopped && !now.Isr.Contains(stopped) && now.LeaderEpoch > before.LeaderEpoch;
        }, $"the controller to fence node {stopped} and move the leadership of {Topic}", TimeSpan.FromSeconds(40));
        Assert.True(cluster.Node(observer).Metadata.Brokers[stopped].Fenced);

        // acks=all with min.insync.replicas 2 goes on with the two live replicas.
        ProduceAll(bootstrap, Topic, 200, 200);

        var records = KafkaClients.ConsumeFromBeginning(cluster.BootstrapServers, _output, Topic, 400, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, 400).Select(i => $"v{i}"), records.Select(r => r.Message.Value));

        // Restarted, the node registers again, is unfenced once caught up and rejoins the ISR.
        await cluster.StartNodeAsync(stopped);
        await InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => Partition(cluster.Node(n), Topic)?.Isr.Length == 3
                && !cluster.Node(n).Metadata.Brokers[stopped].Fenced),
            $"node {stopped} back in the ISR of {Topic}", TimeSpan.FromSeconds(60));
        await InProcessCluster.WaitUntilAsync(() => cluster.Node(stopped).Replicas.Get(Topic, 0)!.Log.LogEndOffset == 400,
            $"node {stopped} to catch up", TimeSpan.FromSeconds(30));
    }

    /// <summary>Partition 0 of <paramref name="topic"/> in a node's image; null while the node has not seen the topic.</summary>
    private static Broker.Cluster.Metadata.PartitionInfo? Partition(Broker.Server.RunningBroker node, string topic) =>
        node.Metadata.TopicsByName.TryGetValue(topic, out var info) ? info.Partitions[0] : null;

    /// <summary>Idempotent acks=all records v{first}..v{first+count-1}, each acknowledged without error.</summary>
    private void ProduceAll(string bootstrap, string topic, int first, int count)
    {
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(bootstrap), _output);
        var failures = new List<string>();
        for (var i = first; i < first + count; i++)
        {
            producer.Produce(topic, new Message<string, string> { Key = $"k{i}", Value = $"v{i}" }, report =>
            {
                if (report.Error.Code != global::Confluent.Kafka.ErrorCode.NoError)
                {
                    lock (failures)
                    {
                        failures.Add(report.Error.Reason);
                    }
                }
            });
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        Assert.Empty(failures);
    }

    [Fact]
    public async Task FindCoordinator_OnFollower_InternalTopicCreatedByTheControllerAndGroupCommits()
    {
        await using var cluster = await RaftCluster.StartAsync(_output);
        var (leader, _) = await cluster.WaitForLeaderAsync();
        await WaitForBrokersAsync(cluster, 3);
        var follower = cluster.RunningNodes.First(n => n != leader);

        // The follower's group coordinator asks the controller (CreateTopics to the leader) for __consumer_offsets.
        var first = await cluster.SendAsync<FindCoordinatorResponse>(follower, new FindCoordinatorRequest { Key = "raft-group", KeyType = 0 }, 3);
        Assert.Equal((short)Broker.Protocol.ErrorCode.CoordinatorNotAvailable, first.ErrorCode);
        await WaitForTopicEverywhereAsync(cluster, "__consumer_offsets");

        await CreateTopicAsync(cluster.BootstrapServers, "raft-grouped", partitions: 2);
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(cluster.BootstrapServers), _output))
        {
            for (var i = 0; i < 50; i++)
            {
                producer.Produce("raft-grouped", new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
            }

            producer.Flush(TimeSpan.FromSeconds(60));
        }

        using var consumer = KafkaClients.Consumer(KafkaClients.GroupConsumerConfig(cluster.BootstrapServers, "raft-group"), _output);
        consumer.Subscribe("raft-grouped");
        var next = new Dictionary<TopicPartition, long>();
        var consumed = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (consumed < 50 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } record)
            {
                consumed++;
                next[record.TopicPartition] = record.Offset.Value + 1;
            }
        }

        Assert.Equal(50, consumed);

        // Explicit offsets, committed through the group coordinator (retried if a rebalance is in progress).
        var offsets = next.Select(e => new TopicPartitionOffset(e.Key, e.Value)).ToList();
        await InProcessCluster.WaitUntilAsync(() =>
        {
            try
            {
                consumer.Commit(offsets);
                return true;
            }
            catch (KafkaException e)
            {
                _output.WriteLine($"commit retried: {e.Error}");
                return false;
            }
        }, "the group commits its offsets");
        var committed = consumer.Committed(next.Keys, TimeSpan.FromSeconds(15));
        Assert.Equal(50, committed.Sum(c => c.Offset.Value));
        consumer.Close();
    }

    private async Task CreateTopicAsync(string bootstrap, string topic, int partitions)
    {
        using var admin = KafkaClients.Admin(bootstrap, _output);
        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }],
            new CreateTopicsOptions { RequestTimeout = KafkaClients.RequestTimeout, OperationTimeout = KafkaClients.RequestTimeout })
            .WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static Task WaitForTopicEverywhereAsync(RaftCluster cluster, string topic) =>
        InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.TopicsByName.ContainsKey(topic)),
            $"every running node's image has topic {topic}");

    private static Task WaitForBrokersAsync(RaftCluster cluster, int count) =>
        InProcessCluster.WaitUntilAsync(() => cluster.RunningNodes.All(n => cluster.Node(n).Metadata.Brokers.Values.Count(b => !b.Fenced) == count),
            $"every running node's image lists {count} unfenced brokers");
}
