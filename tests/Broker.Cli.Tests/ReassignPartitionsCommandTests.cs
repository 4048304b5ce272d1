namespace Broker.Cli.Tests;

/// <summary><c>reassign-partitions</c> against three in-process brokers: a replica really moves, and the tool's layouts and exit codes.</summary>
public sealed class ReassignPartitionsCommandTests : IClassFixture<ThreeBrokers>, IDisposable
{
    private readonly ThreeBrokers _cluster;
    private readonly string _dir = Directory.CreateTempSubdirectory("reassign-json-").FullName;

    public ReassignPartitionsCommandTests(ThreeBrokers cluster)
    {
        _cluster = cluster;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<(int Code, string Output, string Error)> ReassignAsync(params string[] args) =>
        CliRun.RunAsync(["reassign-partitions", "--bootstrap-server", _cluster.BootstrapServers, .. args]);

    private string Json(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private async Task CreateTopicAsync(string topic, int partitions)
    {
        var created = await CliRun.RunAsync("topics", "--bootstrap-server", _cluster.BootstrapServers, "--create", "--topic", topic,
            "--partitions", partitions.ToString(System.Globalization.CultureInfo.InvariantCulture), "--replication-factor", "2");
        Assert.True(created.Code == 0, created.Error);
    }

    [Fact]
    public async Task ExecuteVerify_MoveToAnotherBroker_CompletesAndVerifies()
    {
        await CreateTopicAsync("moved", 1);
        var before = _cluster.Store.Image.TopicsByName["moved"].Partitions[0].Replicas.ToArray();
        var target = new[] { 1, 2, 3 }.Except(before).Concat(before.Take(1)).ToArray();
        var plan = Json("plan.json", $"{{\"version\":1,\"partitions\":[{{\"topic\":\"moved\",\"partition\":0,\"replicas\":[{string.Join(",", target)}]}}]}}");

        var executed = await ReassignAsync("--reassignment-json-file", plan, "--execute", "--throttle", "50000000");
        var topicThrottles = await CliRun.RunAsync("configs", "--bootstrap-server", _cluster.BootstrapServers, "--describe", "--topic", "moved");
        var brokerThrottles = await CliRun.RunAsync("configs", "--bootstrap-server", _cluster.BootstrapServers, "--describe", "--broker", "1");

        Assert.True(executed.Code == 0, executed.Error);
        Assert.Equal("Current partition replica assignment\n\n" +
            $"{{\"version\":1,\"partitions\":[{{\"topic\":\"moved\",\"partition\":0,\"replicas\":[{string.Join(",", before)}],\"log_dirs\":[\"any\",\"any\"]}}]}}\n\n" +
            "Save this to use as the --reassignment-json-file option during rollback\n" +
            "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n" +
            "The inter-broker throttle limit was set to 50000000 B/s\n" +
            "Successfully started partition reassignment for moved-0\n", executed.Output);
        Assert.Contains($"  follower.replication.throttled.replicas=0:{target[0]} ", topicThrottles.Output, StringComparison.Ordinal);
        Assert.Contains($"  leader.replication.throttled.replicas={string.Join(",", before.Select(b => $"0:{b}").Order(StringComparer.Ordinal))} ",
            topicThrottles.Output, StringComparison.Ordinal);
        Assert.Contains("  leader.replication.throttled.rate=50000000 ", brokerThrottles.Output, StringComparison.Ordinal);
        Assert.Contains("  follower.replication.throttled.rate=50000000 ", brokerThrottles.Output, StringComparison.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        (int Code, string Output, string Error) verified;
        while ((verified = await ReassignAsync("--reassignment-json-file", plan, "--verify")).Code != 0 && DateTime.UtcNow < deadline)
        {
            Assert.Equal("Status of partition reassignment:\nReassignment of partition moved-0 is still in progress.\n", verified.Output);
            await Task.Delay(200);
        }

        Assert.True(verified.Code == 0, verified.Output + verified.Error);
        Assert.Equal("Status of partition reassignment:\nReassignment of partition moved-0 is completed.\n" +
            "Clearing broker-level throttles on brokers 1,2,3\nClearing topic-level throttles on topic moved\n", verified.Output);
        Assert.Equal("Dynamic configs for topic moved are:\n",
            (await CliRun.RunAsync("configs", "--bootstrap-server", _cluster.BootstrapServers, "--describe", "--topic", "moved")).Output);
        Assert.Equal("Dynamic configs for broker 1 are:\n",
            (await CliRun.RunAsync("configs", "--bootstrap-server", _cluster.BootstrapServers, "--describe", "--broker", "1")).Output);
        Assert.Equal(target, _cluster.Store.Image.TopicsByName["moved"].Partitions[0].Replicas.ToArray());
        Assert.Equal("No partition reassignments found.\n", (await ReassignAsync("--list")).Output);
    }

    [Fact]
    public async Task ListVerifyDescribeCancel_ReassignmentThatCannotFinish_ShownInProgressThenCancelled()
    {
        await CreateTopicAsync("stuck", 1);
        var partition = _cluster.Store.Image.TopicsByName["stuck"].Partitions[0];
        var (kept, dropped) = (partition.Replicas[0], partition.Replicas[1]);

        // Broker 9 does not exist, so it never catches up and the reassignment stays in progress.
        await _cluster.Store.CommitAsync([new Broker.Protocol.Metadata.PartitionChangeRecord
        {
            TopicId = _cluster.Store.Image.TopicsByName["stuck"].TopicId,
            PartitionId = 0,
            Replicas = [kept, 9, dropped],
            AddingReplicas = [9],
            RemovingReplicas = [dropped],
        }], CancellationToken.None);
        var plan = Json("stuck.json", $"{{\"version\":1,\"partitions\":[{{\"topic\":\"stuck\",\"partition\":0,\"replicas\":[{kept},9]}}]}}");

        var listed = await ReassignAsync("--list");
        var verified = await ReassignAsync("--reassignment-json-file", plan, "--verify");
        var described = await CliRun.RunAsync("topics", "--bootstrap-server", _cluster.BootstrapServers, "--describe", "--topic", "stuck");
        var executed = await ReassignAsync("--reassignment-json-file", plan, "--execute");
        var cancelled = await ReassignAsync("--reassignment-json-file", plan, "--cancel");

        Assert.Equal($"Current partition reassignments:\nstuck-0: replicas: {kept},9,{dropped}. adding: 9. removing: {dropped}.\n", listed.Output);
        Assert.Equal(1, verified.Code);
        Assert.Equal("Status of partition reassignment:\nReassignment of partition stuck-0 is still in progress.\n", verified.Output);
        Assert.Contains("\tReplicationFactor: 2\t", described.Output, StringComparison.Ordinal);
        Assert.Contains($"\tReplicas: {kept},9,{dropped}\tIsr: ", described.Output, StringComparison.Ordinal);
        Assert.Contains($"\tAdding Replicas: 9\tRemoving Replicas: {dropped}\tElr: ", described.Output, StringComparison.Ordinal);
        Assert.Equal(1, executed.Code);
        Assert.Contains("other partition reassignments are in progress", executed.Error, StringComparison.Ordinal);
        Assert.True(cancelled.Code == 0, cancelled.Error);
        Assert.Equal("Successfully cancelled partition reassignment for: stuck-0\n", cancelled.Output);
        Assert.Equal("No partition reassignments found.\n", (await ReassignAsync("--list")).Output);
        Assert.Equal([kept, dropped], _cluster.Store.Image.TopicsByName["stuck"].Partitions[0].Replicas.ToArray());
    }

    [Fact]
    public async Task Verify_ReplicasDifferWithoutReassignment_ExitCode1()
    {
        await CreateTopicAsync("unmoved", 1);
        var replicas = _cluster.Store.Image.TopicsByName["unmoved"].Partitions[0].Replicas.ToArray();
        var other = new[] { 1, 2, 3 }.Except(replicas).Single();
        var plan = Json("unmoved.json", $"{{\"version\":1,\"partitions\":[{{\"topic\":\"unmoved\",\"partition\":0,\"replicas\":[{other},{replicas[0]}]}}]}}");

        var verified = await ReassignAsync("--reassignment-json-file", plan, "--verify");

        Assert.Equal(1, verified.Code);
        Assert.Equal("Status of partition reassignment:\nThere is no active reassignment of partition unmoved-0, " +
            $"but replica set is {string.Join(",", replicas)} rather than {other},{replicas[0]}.\n" +
            "Clearing broker-level throttles on brokers 1,2,3\nClearing topic-level throttles on topic unmoved\n", verified.Output);
    }

    [Fact]
    public async Task Execute_UnknownBrokerOrPartition_ExitCode1AndNothingStarted()
    {
        await CreateTopicAsync("refused", 1);
        var badBroker = Json("bad-broker.json", "{\"version\":1,\"partitions\":[{\"topic\":\"refused\",\"partition\":0,\"replicas\":[1,7]}]}");
        var badPartition = Json("bad-partition.json", "{\"version\":1,\"partitions\":[{\"topic\":\"refused\",\"partition\":5,\"replicas\":[1,2]}]}");

        var broker = await ReassignAsync("--reassignment-json-file", badBroker, "--execute");
        var partition = await ReassignAsync("--reassignment-json-file", badPartition, "--execute");

        Assert.Equal(1, broker.Code);
        Assert.Contains("error: unknown broker id 7.", broker.Error, StringComparison.Ordinal);
        Assert.Equal(1, partition.Code);
        Assert.Contains("error: partition refused-5 does not exist.", partition.Error, StringComparison.Ordinal);
        Assert.Equal("No partition reassignments found.\n", (await ReassignAsync("--list")).Output);
    }

    [Fact]
    public async Task Generate_TopicsOntoBrokerList_CurrentAndProposedPlans()
    {
        await CreateTopicAsync("generated", 3);
        var topics = Json("topics.json", "{\"version\":1,\"topics\":[{\"topic\":\"generated\"}]}");

        var generated = await ReassignAsync("--topics-to-move-json-file", topics, "--broker-list", "1,2,3", "--generate");

        Assert.True(generated.Code == 0, generated.Error);
        var lines = generated.Output.Split('\n');
        Assert.Equal("Current partition replica assignment", lines[0]);
        Assert.Equal("Proposed partition reassignment configuration", lines[3]);
        Assert.Equal("{\"version\":1,\"partitions\":[" +
            "{\"topic\":\"generated\",\"partition\":0,\"replicas\":[1,2],\"log_dirs\":[\"any\",\"any\"]}," +
            "{\"topic\":\"generated\",\"partition\":1,\"replicas\":[2,3],\"log_dirs\":[\"any\",\"any\"]}," +
            "{\"topic\":\"generated\",\"partition\":2,\"replicas\":[3,1],\"log_dirs\":[\"any\",\"any\"]}]}", lines[4]);
        Assert.Equal(3, ReassignmentJson.ParsePlan(lines[1]).Count);
    }

    [Theory]
    [InlineData("{\"version\":1}", "no \"partitions\" array")]
    [InlineData("{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,1]}]}", "without duplicates")]
    [InlineData("not json", "not valid JSON")]
    public async Task Execute_BadPlan_ExitCode2(string json, string message)
    {
        var result = await ReassignAsync("--reassignment-json-file", Json("bad.json", json), "--execute");

        Assert.Equal(2, result.Code);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--execute")]
    [InlineData("--list", "--verify")]
    [InlineData("--generate", "--broker-list", "1,2")]
    public async Task ReassignPartitions_BadArguments_ExitCode2(params string[] args)
    {
        var result = await ReassignAsync(args);

        Assert.Equal(2, result.Code);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
    }
}
