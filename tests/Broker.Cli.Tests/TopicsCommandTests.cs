namespace Broker.Cli.Tests;

/// <summary><c>topics</c> against a real in-process broker: the kafka-topics layouts and exit codes.</summary>
public sealed class TopicsCommandTests : IClassFixture<SingleBroker>
{
    private readonly SingleBroker _broker;

    public TopicsCommandTests(SingleBroker broker)
    {
        _broker = broker;
    }

    private Task<(int Code, string Output, string Error)> TopicsAsync(params string[] args) =>
        CliRun.RunAsync(["topics", "--bootstrap-server", _broker.BootstrapServers, .. args]);

    [Fact]
    public async Task CreateDescribe_TopicWithConfig_KafkaTopicsLayout()
    {
        var created = await TopicsAsync("--create", "--topic", "described", "--partitions", "3", "--replication-factor", "1", "--config", "retention.ms=60000");
        var described = await TopicsAsync("--describe", "--topic", "described");

        Assert.True(created.Code == 0, created.Error);
        Assert.Equal("Created topic described.\n", created.Output);
        Assert.True(described.Code == 0, described.Error);
        var lines = described.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        var topicId = Broker.Storage.LogDirFormat.FormatUuid(_broker.Broker.Metadata.TopicsByName["described"].TopicId);
        Assert.Equal($"Topic: described\tTopicId: {topicId}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=60000", lines[0]);
        for (var p = 0; p < 3; p++)
        {
            Assert.Equal($"\tTopic: described\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: ", lines[p + 1]);
        }
    }

    [Fact]
    public async Task CreateListDelete_Topic_ListedUntilDeleted()
    {
        var created = await TopicsAsync("--create", "--topic", "listed");
        var listed = await TopicsAsync("--list");
        var deleted = await TopicsAsync("--delete", "--topic", "listed");
        var after = await TopicsAsync("--list");

        Assert.True(created.Code == 0, created.Error);
        Assert.True(listed.Code == 0, listed.Error);
        Assert.Contains("listed", listed.Output.Split('\n'));
        Assert.True(deleted.Code == 0, deleted.Error);
        Assert.DoesNotContain("listed", after.Output.Split('\n'));
    }

    [Fact]
    public async Task Create_Existing_ExitCode1WithKafkasErrorName()
    {
        await TopicsAsync("--create", "--topic", "twice");

        var again = await TopicsAsync("--create", "--topic", "twice");

        Assert.Equal(1, again.Code);
        Assert.Contains("error: cannot create topic twice: TOPIC_ALREADY_EXISTS", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alter_MorePartitions_DescribedWithTheNewCount()
    {
        await TopicsAsync("--create", "--topic", "grown", "--partitions", "1");

        var altered = await TopicsAsync("--alter", "--topic", "grown", "--partitions", "4");
        var described = await TopicsAsync("--describe", "--topic", "grown");
        var shrunk = await TopicsAsync("--alter", "--topic", "grown", "--partitions", "2");

        Assert.True(altered.Code == 0, altered.Error);
        Assert.Contains("\tPartitionCount: 4\t", described.Output, StringComparison.Ordinal);
        Assert.Equal(1, shrunk.Code);
        Assert.Contains("error: cannot alter topic grown: INVALID_PARTITIONS", shrunk.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IfExistsAndIfNotExists_NothingToDo_ExitCode0()
    {
        await TopicsAsync("--create", "--topic", "present");

        var created = await TopicsAsync("--create", "--topic", "present", "--if-not-exists");
        var altered = await TopicsAsync("--alter", "--topic", "absent", "--partitions", "3", "--if-exists");
        var deleted = await TopicsAsync("--delete", "--topic", "absent", "--if-exists");

        Assert.Equal((0, ""), (created.Code, created.Error));
        Assert.Equal((0, ""), (altered.Code, altered.Error));
        Assert.Equal((0, ""), (deleted.Code, deleted.Error));
    }

    [Fact]
    public async Task DescribeAndDelete_UnknownTopic_ExitCode1()
    {
        var described = await TopicsAsync("--describe", "--topic", "missing");
        var deleted = await TopicsAsync("--delete", "--topic", "missing");

        Assert.Equal(1, described.Code);
        Assert.Contains("error: topic 'missing' does not exist.", described.Error, StringComparison.Ordinal);
        Assert.Equal(1, deleted.Code);
        Assert.Contains("UNKNOWN_TOPIC_OR_PARTITION", deleted.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("topics", "--list")]
    [InlineData("topics", "--bootstrap-server", "localhost:1", "--list", "--describe")]
    [InlineData("topics", "--bootstrap-server", "localhost:1", "--create")]
    [InlineData("topics", "--bootstrap-server", "localhost:1", "--alter", "--topic", "t")]
    [InlineData("topics", "--bootstrap-server", "nonsense", "--list")]
    [InlineData("topics", "--bootstrap-server", "localhost:1", "--create", "--topic", "t", "--config", "novalue")]
    public async Task Topics_BadArguments_ExitCode2(params string[] args)
    {
        var result = await CliRun.RunAsync(args);

        Assert.Equal(2, result.Code);
        Assert.Contains("error", result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task List_NobodyListening_ExitCode1()
    {
        var result = await CliRun.RunAsync("topics", "--bootstrap-server", "127.0.0.1:1", "--list");

        Assert.Equal(1, result.Code);
        Assert.Contains("error: no bootstrap server answered", result.Error, StringComparison.Ordinal);
    }
}
