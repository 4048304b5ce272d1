using System.Globalization;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Wire;
using Broker.Protocol.Messages;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>librdkafka consumer groups (classic protocol): assignment, failover, static membership, cooperative rebalancing, admin.</summary>
public sealed class ConsumerGroupTests
{
    private const int Partitions = 6;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public ConsumerGroupTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private async Task ProduceAsync(string bootstrap, string topic, int from, int count)
    {
        using var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(bootstrap), _output);
        var pending = new List<Task>();
        for (var i = from; i < from + count; i++)
        {
            var text = i.ToString(CultureInfo.InvariantCulture);
            pending.Add(producer.ProduceAsync(new TopicPartition(topic, i % Partitions), new Message<string, string> { Key = text, Value = text }));
        }

        await Task.WhenAll(pending).WaitAsync(Timeout);
    }

    [Fact]
    public async Task Subscribe_ThreeMembersThenOneCloses_PartitionsOwnedOnceAndNoRecordLost()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("group");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, Partitions);
        var group = KafkaClients.UniqueTopic("g");
        var config = KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group);
        var members = Enumerable.Range(0, 3).Select(i => new GroupConsumer(config, topic, _output, $"member-{i}")).ToList();
        try
        {
            await GroupConsumer.WaitForExclusiveAssignmentAsync(members, Partitions, Timeout);
            Assert.All(members, m => Assert.Equal(2, m.Assignment.Count));
            await ProduceAsync(broker.BootstrapServers, topic, 0, 300);
            await GroupConsumer.WaitForRecordsAsync(members, [], 300, Timeout);

            var leaving = members[2];
            leaving.Dispose();
            members.RemoveAt(2);
            await GroupConsumer.WaitForExclusiveAssignmentAsync(members, Partitions, Timeout);
            await ProduceAsync(broker.BootstrapServers, topic, 300, 300);

            await GroupConsumer.WaitForRecordsAsync(members, [leaving], 600, Timeout);
        }
        finally
        {
            members.ForEach(m => m.Dispose());
        }
    }

    [Fact]
    public async Task Subscribe_CooperativeSticky_IncrementalRebalanceOwnsEveryPartitionOnce()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("coop");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, Partitions);
        var config = KafkaClients.GroupConsumerConfig(broker.BootstrapServers, KafkaClients.UniqueTopic("g"), strategy: PartitionAssignmentStrategy.CooperativeSticky);
        var members = new List<GroupConsumer> { new(config, topic, _output, "coop-0"), new(config, topic, _output, "coop-1") };
        try
        {
            await GroupConsumer.WaitForExclusiveAssignmentAsync(members, Partitions, Timeout);
            await ProduceAsync(broker.BootstrapServers, topic, 0, 120);
            await GroupConsumer.WaitForRecordsAsync(members, [], 120, Timeout);

            members.Add(new GroupConsumer(config, topic, _output, "coop-2"));
            await GroupConsumer.WaitForExclusiveAssignmentAsync(members, Partitions, Timeout);
            await ProduceAsync(broker.BootstrapServers, topic, 120, 120);

            await GroupConsumer.WaitForRecordsAsync(members, [], 240, Timeout);
            Assert.All(members, m => Assert.Equal(2, m.Assignment.Count));
        }
        finally
        {
            members.ForEach(m => m.Dispose());
        }
    }

    [Fact]
    public async Task StaticMember_RestartsWithinSessionTimeout_NoRebalance()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("static");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, Partitions);
        var group = KafkaClients.UniqueTopic("g");
        var a = new GroupConsumer(KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group, "instance-a"), topic, _output, "static-a");
        var b = new GroupConsumer(KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group, "instance-b"), topic, _output, "static-b");
        GroupConsumer? restarted = null;
        try
        {
            await GroupConsumer.WaitForExclusiveAssignmentAsync([a, b], Partitions, Timeout);
            await Task.Delay(1000); // let the last rebalance settle
            var generation = await GenerationOfAsync(broker.BootstrapServers, group, b.MemberId, "instance-b");
            var assignmentA = a.Assignment;
            var assignmentB = b.Assignment;
            var eventsB = (b.AssignedEvents, b.RevokedEvents);

            a.Dispose(); // a static member does not leave the group on close
            restarted = new GroupConsumer(KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group, "instance-a"), topic, _output, "static-a2");
            await GroupConsumer.WaitForExclusiveAssignmentAsync([restarted, b], Partitions, Timeout);
            await Task.Delay(1000);

            Assert.Equal(assignmentA, restarted.Assignment);
            Assert.Equal(assignmentB, b.Assignment);
            Assert.Equal(eventsB, (b.AssignedEvents, b.RevokedEvents));
            Assert.Equal(generation, await GenerationOfAsync(broker.BootstrapServers, group, b.MemberId, "instance-b"));
        }
        finally
        {
            restarted?.Dispose();
            b.Dispose();
        }
    }

    // The generation a member is in: the one its heartbeat is accepted with (a wrong one gets ILLEGAL_GENERATION).
    private static async Task<int> GenerationOfAsync(string bootstrap, string group, string memberId, string instanceId)
    {
        await using var client = await WireClient.ConnectAsync(bootstrap);
        for (var generation = 1; generation < 50; generation++)
        {
            var response = await client.SendAsync<HeartbeatResponse>(12, 4,
                new HeartbeatRequest { GroupId = group, GenerationId = generation, MemberId = memberId, GroupInstanceId = instanceId }, 2, 1);
            if (response.ErrorCode == (short)Broker.Protocol.ErrorCode.None)
            {
                return generation;
            }
        }

        Assert.Fail("no generation accepted the member's heartbeat");
        return -1;
    }

    [Fact]
    public async Task CommittedOffsets_BrokerProcessRestarts_OffsetsSurvive()
    {
        using var logDir = new TempDirectory("broker-groups-");
        var port = BrokerProcess.FreePort();
        var group = KafkaClients.UniqueTopic("g");
        var topic = KafkaClients.UniqueTopic("committed");
        var offsets = Enumerable.Range(0, 3).Select(p => new TopicPartitionOffset(topic, p, 10 + p)).ToList();
        await using (var broker = BrokerProcess.Start(logDir.Path, port, _output))
        {
            await broker.WaitUntilReadyAsync(_output, Timeout);
            await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 3);
            using var consumer = KafkaClients.Consumer(KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group), _output);
            consumer.Commit(offsets);
            await broker.TerminateAsync(_output, Timeout);
        }

        await using (var broker = BrokerProcess.Start(logDir.Path, port, _output))
        {
            await broker.WaitUntilReadyAsync(_output, Timeout);
            using var consumer = KafkaClients.Consumer(KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group), _output);
            var committed = consumer.Committed(offsets.Select(o => o.TopicPartition), Timeout);

            Assert.Equal(offsets.Select(o => o.Offset.Value), committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value));
        }
    }

    [Fact]
    public async Task AdminClient_ListDescribeDeleteGroups_ReflectGroupState()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("admin-groups");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, Partitions);
        var group = KafkaClients.UniqueTopic("g");
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        var member = new GroupConsumer(KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group), topic, _output, "admin-member");
        try
        {
            await GroupConsumer.WaitForExclusiveAssignmentAsync([member], Partitions, Timeout);
            await ProduceAsync(broker.BootstrapServers, topic, 0, 60);
            await GroupConsumer.WaitForRecordsAsync([member], [], 60, Timeout);

            var listed = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = Timeout });
            var entry = Assert.Single(listed.Valid, g => g.GroupId == group);
            Assert.Equal(ConsumerGroupState.Stable, entry.State);
            var described = Assert.Single((await admin.DescribeConsumerGroupsAsync([group], new DescribeConsumerGroupsOptions { RequestTimeout = Timeout })).ConsumerGroupDescriptions);
            Assert.Equal(ConsumerGroupState.Stable, described.State);
            Assert.Equal("range", described.PartitionAssignor);
            var described1 = Assert.Single(described.Members);
            Assert.Equal(Partitions, described1.Assignment.TopicPartitions.Count);

            await Assert.ThrowsAsync<DeleteGroupsException>(() => admin.DeleteGroupsAsync([group]));
        }
        finally
        {
            member.Dispose();
        }

        var offsets = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, null)]);
        Assert.Equal(60, Assert.Single(offsets).Partitions.Sum(p => p.Offset.Value));
        await admin.DeleteGroupsAsync([group]);
        var after = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = Timeout });
        Assert.DoesNotContain(after.Valid, g => g.GroupId == group);
    }
}
