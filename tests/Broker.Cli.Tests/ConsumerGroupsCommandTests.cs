using Broker.Cli.Perf;
using Confluent.Kafka;

namespace Broker.Cli.Tests;

/// <summary>
/// <c>consumer-groups</c> against a real in-process broker, with offsets committed and groups joined by librdkafka
/// (Confluent.Kafka): kafka-consumer-groups' layouts, the reset scenarios with dry run and execute, refusals for an active
/// group, and deletion.
/// </summary>
public sealed class ConsumerGroupsCommandTests : IClassFixture<SingleBroker>
{
    private readonly SingleBroker _broker;

    public ConsumerGroupsCommandTests(SingleBroker broker)
    {
        _broker = broker;
        BundledLibrdkafka.Load();
    }

    private Task<(int Code, string Output, string Error)> GroupsAsync(params string[] args) =>
        CliRun.RunAsync(["consumer-groups", "--bootstrap-server", _broker.BootstrapServers, .. args]);

    /// <summary>A topic of two partitions with <paramref name="records"/> records in partition 0 and 2 in partition 1.</summary>
    private async Task CreateTopicAsync(string topic, int records)
    {
        var created = await CliRun.RunAsync("topics", "--bootstrap-server", _broker.BootstrapServers, "--create", "--topic", topic, "--partitions", "2");
        Assert.True(created.Code == 0, created.Error);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = _broker.BootstrapServers, LingerMs = 0 }).Build();
        for (var i = 0; i < records; i++)
        {
            await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<Null, string> { Value = $"r{i}" });
        }

        for (var i = 0; i < 2; i++)
        {
            await producer.ProduceAsync(new TopicPartition(topic, 1), new Message<Null, string> { Value = $"s{i}" });
        }
    }

    /// <summary>Commits offsets for a group that has no members (the consumer only assigns, never subscribes).</summary>
    private void Commit(string group, params (string Topic, int Partition, long Offset)[] offsets)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = group }).Build();
        consumer.Commit(offsets.Select(o => new TopicPartitionOffset(o.Topic, o.Partition, o.Offset)));
    }

    private long? Committed(string group, string topic, int partition)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = group }).Build();
        var offset = consumer.Committed([new TopicPartition(topic, partition)], TimeSpan.FromSeconds(10)).Single().Offset;
        return offset.IsSpecial ? null : offset.Value;
    }

    [Fact]
    public async Task Describe_GroupWithoutMembers_KafkasOffsetsLayout_AndNoActiveMembersOnStderr()
    {
        await CreateTopicAsync("cg-describe", 5);
        Commit("cg-describe-group", ("cg-describe", 0, 3));

        var listed = await GroupsAsync("--list");
        var described = await GroupsAsync("--describe", "--group", "cg-describe-group");

        Assert.True(listed.Code == 0, listed.Error);
        Assert.Contains("cg-describe-group", listed.Output.Split('\n'));
        Assert.True(described.Code == 0, described.Error);
        Assert.Equal("\nConsumer group 'cg-describe-group' has no active members.\n", described.Error);

        // Group and topic columns padded to the widest value (17 and 15), the counters to 10 and 15, consumer id and host to 15.
        Assert.Equal(
            "\nGROUP             TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID" +
            "\ncg-describe-group cg-describe     0          3               5               2               -               -               -\n",
            described.Output);
    }

    [Fact]
    public async Task Describe_ActiveMember_RowsNameIt_AndResetIsRefused()
    {
        await CreateTopicAsync("cg-active", 4);
        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = _broker.BootstrapServers,
            GroupId = "cg-active-group",
            ClientId = "cg-client",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe("cg-active");
        var read = 0;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (read < 6 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is not null)
            {
                read++;
            }
        }

        Assert.Equal(6, read);
        consumer.Commit();

        var described = await GroupsAsync("--describe", "--group", "cg-active-group");
        var reset = await GroupsAsync("--reset-offsets", "--group", "cg-active-group", "--topic", "cg-active", "--to-earliest", "--execute");

        Assert.True(described.Code == 0, described.Error);
        var rows = described.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, rows.Length);
        foreach (var (row, partition, end) in new[] { (rows[1], 0, 4), (rows[2], 1, 2) })
        {
            var columns = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["cg-active-group", "cg-active", $"{partition}", $"{end}", $"{end}", "0"], columns[..6]);
            Assert.Equal(consumer.MemberId, columns[6]);
            Assert.Equal("/127.0.0.1", columns[7]);
            Assert.Equal("cg-client", columns[8]);
        }

        var members = await GroupsAsync("--describe", "--group", "cg-active-group", "--members");
        Assert.True(members.Code == 0, members.Error);
        var memberId = consumer.MemberId;
        Assert.Equal(
            "\n" + "GROUP".PadRight(15) + " " + "CONSUMER-ID".PadRight(memberId.Length) + " HOST            CLIENT-ID       #PARTITIONS     \n"
            + "cg-active-group " + memberId + " /127.0.0.1      cg-client       2               \n",
            members.Output);

        var state = await GroupsAsync("--describe", "--group", "cg-active-group", "--state");
        Assert.True(state.Code == 0, state.Error);
        var coordinator = $"{_broker.BootstrapServers}  (1)";
        Assert.Equal(
            "\nGROUP           " + "COORDINATOR (ID)".PadRight(25) + " ASSIGNMENT-STRATEGY  STATE                #MEMBERS"
            + "\ncg-active-group " + coordinator.PadRight(25) + " range                Stable               1\n",
            state.Output);

        Assert.Equal(1, reset.Code);
        Assert.Equal("error: Assignments can only be reset if the group 'cg-active-group' is inactive, but the current state is Stable.\n", reset.Error);
        Assert.Equal(4, Committed("cg-active-group", "cg-active", 0));
        consumer.Close();
    }

    [Fact]
    public async Task ResetOffsets_DryRunChangesNothing_ExecuteCommits_EveryScenario()
    {
        await CreateTopicAsync("cg-reset", 5);
        Commit("cg-reset-group", ("cg-reset", 0, 3), ("cg-reset", 1, 1));

        var dryRun = await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--topic", "cg-reset", "--to-earliest");
        Assert.True(dryRun.Code == 0, dryRun.Error);
        Assert.Equal(
            "\nGROUP           TOPIC           PARTITION  NEW-OFFSET" +
            "\ncg-reset-group  cg-reset        0          0" +
            "\ncg-reset-group  cg-reset        1          0\n",
            dryRun.Output);
        Assert.Equal(3, Committed("cg-reset-group", "cg-reset", 0));

        var earliest = await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--topic", "cg-reset:0", "--to-earliest", "--execute");
        Assert.True(earliest.Code == 0, earliest.Error);
        Assert.Equal(0, Committed("cg-reset-group", "cg-reset", 0));
        Assert.Equal(1, Committed("cg-reset-group", "cg-reset", 1));

        // --to-offset past the log end is clamped to it; --shift-by moves from the committed offset; --to-latest; and a
        // datetime before every record finds the first one.
        Assert.Equal(0, (await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--all-topics", "--to-offset", "100", "--execute")).Code);
        Assert.Equal(5, Committed("cg-reset-group", "cg-reset", 0));
        Assert.Equal(2, Committed("cg-reset-group", "cg-reset", 1));
        Assert.Equal(0, (await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--topic", "cg-reset:0", "--shift-by", "-2", "--execute")).Code);
        Assert.Equal(3, Committed("cg-reset-group", "cg-reset", 0));
        Assert.Equal(0, (await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--topic", "cg-reset", "--to-datetime", "2020-01-01T00:00:00.000",
            "--execute")).Code);
        Assert.Equal(0, Committed("cg-reset-group", "cg-reset", 0));
        Assert.Equal(0, (await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--topic", "cg-reset", "--to-latest", "--execute")).Code);
        Assert.Equal(5, Committed("cg-reset-group", "cg-reset", 0));
        Assert.Equal(2, Committed("cg-reset-group", "cg-reset", 1));

        // Every record is less than an hour old: an hour back is the first offset. --to-current keeps what is committed.
        Assert.Equal(0, (await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--topic", "cg-reset:0", "--by-duration", "PT1H", "--execute")).Code);
        Assert.Equal(0, Committed("cg-reset-group", "cg-reset", 0));
        var current = await GroupsAsync("--reset-offsets", "--group", "cg-reset-group", "--all-topics", "--to-current", "--export");
        Assert.True(current.Code == 0, current.Error);
        Assert.Equal("cg-reset,0,0\ncg-reset,1,2\n\n", current.Output);
    }

    [Fact]
    public async Task Delete_InactiveGroup_GoneAfterwards()
    {
        await CreateTopicAsync("cg-delete", 1);
        Commit("cg-delete-group", ("cg-delete", 0, 1));

        var deleted = await GroupsAsync("--delete", "--group", "cg-delete-group");
        var described = await GroupsAsync("--describe", "--group", "cg-delete-group");

        Assert.True(deleted.Code == 0, deleted.Error);
        Assert.Equal("Deletion of requested consumer groups ('cg-delete-group') was successful.\n", deleted.Output);
        Assert.Equal(1, described.Code);
        Assert.Equal("error: Consumer group 'cg-delete-group' does not exist.\n", described.Error);
        Assert.Null(Committed("cg-delete-group", "cg-delete", 0));
    }

    [Fact]
    public async Task DeleteOffsets_InactiveGroup_OnlyThatPartitionsOffsetGoes()
    {
        await CreateTopicAsync("cg-offsets", 3);
        Commit("cg-offsets-group", ("cg-offsets", 0, 2), ("cg-offsets", 1, 1));

        var deleted = await GroupsAsync("--delete-offsets", "--group", "cg-offsets-group", "--topic", "cg-offsets:0");

        Assert.True(deleted.Code == 0, deleted.Error);
        Assert.Equal(
            "Request succeeded for deleting offsets from group cg-offsets-group.\n"
            + "\nTOPIC           PARTITION  STATUS         "
            + "\ncg-offsets      0          Successful     \n",
            deleted.Output);
        Assert.Null(Committed("cg-offsets-group", "cg-offsets", 0));
        Assert.Equal(1, Committed("cg-offsets-group", "cg-offsets", 1));
    }

    [Theory]
    [InlineData(new[] { "--delete-offsets", "--group", "g" }, "error: --delete-offsets needs one --group and --topic topic[:partition,partition]...")]
    [InlineData(new[] { "--describe" }, "error: --describe needs --group or --all-groups.")]
    [InlineData(new[] { "--reset-offsets", "--group", "g", "--topic", "t" },
        "error: --reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration and --to-current.")]
    [InlineData(new[] { "--reset-offsets", "--group", "g", "--topic", "t", "--by-duration", "1h" },
        "error: --by-duration '1h' is not an ISO-8601 duration such as PT1H30M or P1DT12H.")]
    [InlineData(new[] { "--reset-offsets", "--group", "g", "--to-latest" }, "error: --reset-offsets needs one of the reset scopes: --all-topics, --topic.")]
    [InlineData(new[] { "--reset-offsets", "--group", "g", "--topic", "t:x", "--to-latest" }, "error: --topic 't:x' is not topic or topic:partition,partition.")]
    [InlineData(new[] { "--list", "--describe" }, "error: give exactly one of --list, --describe, --reset-offsets, --delete and --delete-offsets.")]
    public async Task BadArguments_ExitCode2SayingWhy(string[] args, string message)
    {
        var result = await GroupsAsync(args);

        Assert.Equal(2, result.Code);
        Assert.Equal(message + "\n", result.Error);
    }
}
