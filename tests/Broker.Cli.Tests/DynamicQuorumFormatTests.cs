using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Storage;

namespace Broker.Cli.Tests;

/// <summary><c>storage format --standalone / --initial-controllers</c>: Kafka's bootstrap of a dynamic quorum's voters.</summary>
public sealed class DynamicQuorumFormatTests : IDisposable
{
    private const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private const string Dir1 = "AAAAAAAAAAAAAAAAAAAAAQ";
    private const string Dir3 = "6v8KUnweS46aVQwrOp8dEQ";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dynamic-quorum-" + Guid.NewGuid().ToString("N"));
    private readonly string _config;

    public DynamicQuorumFormatTests()
    {
        Directory.CreateDirectory(_root);
        _config = Path.Combine(_root, "server.properties");
        File.WriteAllText(_config,
            $"node.id=3\nprocess.roles=controller\nlisteners=CONTROLLER://localhost:19093\ncontroller.listener.names=CONTROLLER\n" +
            $"controller.quorum.bootstrap.servers=localhost:19093\nlog.dirs={Dir("data")}\nmetadata.log.dir={Dir("meta")}\n");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Dir(string name) => Path.Combine(_root, name);

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    private VotersRecordView StoredVoters()
    {
        var directory = BootstrapVoters.PartitionDirectory(Dir("meta"));
        var record = MetadataSnapshot.ReadVoters(SnapshotFiles.Read(directory, BootstrapVoters.Id), "test");
        Assert.NotNull(record);
        return new VotersRecordView([.. record.Voters.Select(v => (v.VoterId, v.VoterDirectoryId, v.Endpoints.Single().Name, v.Endpoints.Single().Host, (int)v.Endpoints.Single().Port))]);
    }

    [Fact]
    public async Task Format_Standalone_VoterCheckpointOfThisNodeWithTheMetadataDirsId()
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "--standalone");

        Assert.True(result.Code == 0, result.Error);
        var metaDirId = LogDirFormat.Read(Dir("meta"))!.DirectoryId;
        var voter = Assert.Single(StoredVoters().Voters);
        Assert.Equal((3, metaDirId, "CONTROLLER", "localhost", 19093), voter);
        Assert.Equal([new VoterEndpoint(3, "localhost", 19093) { DirectoryId = metaDirId }], BootstrapVoters.TryRead(Dir("meta"), ["CONTROLLER"]));
        Assert.False(Directory.Exists(BootstrapVoters.PartitionDirectory(Dir("data"))));
    }

    [Fact]
    public async Task Format_InitialControllers_AllVotersAndThisNodesDirectoryIdFromTheList()
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId,
            "--initial-controllers", $"1@c1.example:9093:{Dir1},3@c3.example:9093:{Dir3}");

        Assert.True(result.Code == 0, result.Error);
        Assert.True(LogDirFormat.TryParseUuid(Dir3, out var dir3));
        Assert.Equal(dir3, LogDirFormat.Read(Dir("meta"))!.DirectoryId);
        Assert.NotEqual(dir3, LogDirFormat.Read(Dir("data"))!.DirectoryId);
        Assert.Equal([1, 3], StoredVoters().Voters.Select(v => v.Id));
        Assert.True(LogDirFormat.TryParseUuid(Dir1, out var dir1));
        Assert.Equal([new VoterEndpoint(1, "c1.example", 9093) { DirectoryId = dir1 }, new VoterEndpoint(3, "c3.example", 9093) { DirectoryId = dir3 }],
            BootstrapVoters.TryRead(Dir("meta"), ["CONTROLLER"]));
    }

    [Theory]
    [InlineData("--initial-controllers", "1@c1:9093:" + Dir1, "node.id 3 is not one of the initial controllers")]
    [InlineData("--initial-controllers", "3@c3:9093", "is not id@host:port:directoryId")]
    [InlineData("--initial-controllers", "3@c3:9093:not-a-uuid", "is not id@host:port:directoryId")]
    [InlineData("--initial-controllers", "3@c3:9093:" + Dir3 + ",3@c4:9093:" + Dir1, "controller id 3 appears twice")]
    public async Task Format_BadInitialControllers_RefusedAndNothingWritten(string flag, string value, string message)
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, flag, value);

        Assert.Equal(1, result.Code);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Dir("meta")) && Directory.EnumerateFileSystemEntries(Dir("meta")).Any());
        Assert.False(Directory.Exists(Dir("data")) && Directory.EnumerateFileSystemEntries(Dir("data")).Any());
    }

    [Fact]
    public async Task Format_StandaloneWithStaticVotersOrBothFlags_Refused()
    {
        var both = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "--standalone", "--initial-controllers", $"3@c3:9093:{Dir3}");
        var withVoters = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "--standalone",
            "--override", "controller.quorum.voters=3@localhost:19093");

        Assert.Equal(1, both.Code);
        Assert.Contains("cannot be used together", both.Error, StringComparison.Ordinal);
        Assert.Equal(1, withVoters.Code);
        Assert.Contains("controller.quorum.voters is set", withVoters.Error, StringComparison.Ordinal);
        Assert.Null(LogDirFormat.Read(Dir("meta")));
    }

    [Fact]
    public async Task Format_NoInitialControllers_FormattedWithoutVotersAndReadAsAnObserverController()
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "--no-initial-controllers");

        Assert.True(result.Code == 0, result.Error);
        Assert.NotNull(LogDirFormat.Read(Dir("meta")));
        Assert.Null(BootstrapVoters.TryRead(Dir("meta"), ["CONTROLLER"]));
        Assert.True(BootstrapVoters.IsFormattedWithoutVoters(Dir("meta")));
    }

    [Fact]
    public async Task Format_DynamicControllerWithoutAnyFlagOrWithTwo_Refused()
    {
        var none = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId);
        var two = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "--standalone", "--no-initial-controllers");

        Assert.Equal(1, none.Code);
        Assert.Contains("--no-initial-controllers", none.Error, StringComparison.Ordinal);
        Assert.Equal(1, two.Code);
        Assert.Contains("cannot be used together", two.Error, StringComparison.Ordinal);
        Assert.Null(LogDirFormat.Read(Dir("meta")));
    }

    [Theory]
    [InlineData("metadata-quorum", "describe", "--status")]
    [InlineData("metadata-quorum", "--bootstrap-controller", "localhost:1", "describe")]
    [InlineData("metadata-quorum", "--bootstrap-controller", "localhost:1", "describe", "--status", "--replication")]
    [InlineData("metadata-quorum", "--bootstrap-controller", "nonsense", "describe", "--status")]
    [InlineData("metadata-quorum", "--bootstrap-controller", "localhost:1", "add-controller")]
    [InlineData("metadata-quorum", "--bootstrap-controller", "localhost:1", "remove-controller", "--controller-id", "2",
        "--controller-directory-id", "not-a-uuid")]
    public async Task MetadataQuorum_BadArguments_ExitCode2WithoutContactingAnybody(params string[] args)
    {
        var result = await RunAsync(args);

        Assert.Equal(2, result.Code);
        Assert.Contains("error", result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task MetadataQuorum_NobodyListening_ExitCode1WithTheReason()
    {
        var result = await RunAsync("metadata-quorum", "--bootstrap-controller", "127.0.0.1:1", "describe", "--status");

        Assert.Equal(1, result.Code);
        Assert.Contains("127.0.0.1:1: Connecting to 127.0.0.1:1 failed", result.Error, StringComparison.Ordinal);
        Assert.Contains("error: no endpoint of 127.0.0.1:1 described the quorum.", result.Error, StringComparison.Ordinal);
    }

    private sealed record VotersRecordView(IReadOnlyList<(int Id, Guid DirectoryId, string Listener, string Host, int Port)> Voters);
}
