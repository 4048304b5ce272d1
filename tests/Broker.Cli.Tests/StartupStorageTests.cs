using Broker.Server.Configuration;
using Broker.Storage;

namespace Broker.Cli.Tests;

public sealed class StartupStorageTests : IDisposable
{
    private const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private const string OtherClusterId = "cHGvf2kKRe2yA3-Nn-0Qfw";
    private const long NowMs = 1_700_000_000_000;
    private static readonly Dictionary<string, string> NoEnvironment = [];
    private readonly string _root = Directory.CreateTempSubdirectory("startup-storage-").FullName;
    private int _guids;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Dir(string name) => Path.Combine(_root, name);

    private BrokerConfig Config(string extra = "") =>
        BrokerConfig.Parse($"node.id=3\nlog.dirs={Dir("a")},{Dir("b")}\nmetadata.log.dir={Dir("meta")}\n{extra}");

    // Deterministic ids: 1, 2, 3 ... as Guids.
    private Guid NextGuid() => new(++_guids, 0, 0, new byte[8]);

    private (string? ClusterId, IReadOnlyList<string> Formatted) Prepare(BrokerConfig config, Dictionary<string, string>? environment = null) =>
        StartupStorage.Prepare(config, environment ?? NoEnvironment, NextGuid, NowMs);

    private static List<string> Entries(string directory) =>
        Directory.Exists(directory) ? [.. Directory.EnumerateFileSystemEntries(directory).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal)] : [];

    [Fact]
    public void Prepare_EmptyDirectories_FormatsEveryOneWithTheConfiguredClusterId()
    {
        var (clusterId, formatted) = Prepare(Config($"cluster.id={ClusterId}"));

        Assert.Equal(ClusterId, clusterId);
        Assert.Equal([Dir("a"), Dir("b"), Dir("meta")], formatted);
        Assert.All(formatted, d => Assert.Equal((ClusterId, 3), (LogDirFormat.Read(d)!.ClusterId, LogDirFormat.Read(d)!.NodeId)));
        Assert.True(File.Exists(Path.Combine(Dir("meta"), "bootstrap.checkpoint")));
        Assert.DoesNotContain(formatted.SelectMany(Entries), name => name.StartsWith(".kafka-broker-write-probe", StringComparison.Ordinal));
    }

    [Fact]
    public void Prepare_NoClusterIdConfigured_UsesTheClusterIdVariable()
    {
        var (clusterId, _) = Prepare(Config(), new() { [StartupStorage.ClusterIdVariable] = OtherClusterId });

        Assert.Equal(OtherClusterId, clusterId);
        Assert.Equal(OtherClusterId, LogDirFormat.Read(Dir("a"))!.ClusterId);
    }

    [Fact]
    public void Prepare_NoClusterIdAnywhere_FormatsWithANewOne()
    {
        var (clusterId, formatted) = Prepare(Config());

        Assert.True(LogDirFormat.IsValidUuid(clusterId));
        Assert.Equal(3, formatted.Count);
        Assert.All(formatted, d => Assert.Equal(clusterId, LogDirFormat.Read(d)!.ClusterId));
    }

    [Fact]
    public void Prepare_SecondStart_FormatsNothingAndKeepsTheIdentity()
    {
        var (first, _) = Prepare(Config());
        var before = File.ReadAllText(Path.Combine(Dir("a"), "meta.properties"));

        var (second, formatted) = Prepare(Config());

        Assert.Empty(formatted);
        Assert.Equal(first, second);
        Assert.Equal(before, File.ReadAllText(Path.Combine(Dir("a"), "meta.properties")));
    }

    [Fact]
    public void Prepare_NewDirectoryBesideFormattedOnes_JoinsTheirCluster()
    {
        Prepare(BrokerConfig.Parse($"node.id=3\nlog.dirs={Dir("a")}\ncluster.id={ClusterId}"));

        var (clusterId, formatted) = Prepare(Config());

        Assert.Equal(ClusterId, clusterId);
        Assert.Equal([Dir("b"), Dir("meta")], formatted);
        Assert.Equal(ClusterId, LogDirFormat.Read(Dir("b"))!.ClusterId);
    }

    [Fact]
    public void Prepare_DirectoryOfAnotherCluster_RefusedNamingBothIdsAndNothingWritten()
    {
        LogDirFormat.Write(Directory.CreateDirectory(Dir("b")).FullName, new LogDirIdentity(OtherClusterId, 3, Guid.NewGuid()));

        var e = Assert.Throws<StartupStorageException>(() => Prepare(Config($"cluster.id={ClusterId}")));

        Assert.Contains(Dir("b"), e.Message, StringComparison.Ordinal);
        Assert.Contains($"belongs to cluster.id {OtherClusterId}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"cluster.id is {ClusterId}", e.Message, StringComparison.Ordinal);
        Assert.Empty(Entries(Dir("a")));
        Assert.Empty(Entries(Dir("meta")));
        Assert.Equal(["meta.properties"], Entries(Dir("b")));
    }

    [Fact]
    public void Prepare_DirectoryOfAnotherClusterThanClusterIdVariable_Refused()
    {
        LogDirFormat.Write(Directory.CreateDirectory(Dir("a")).FullName, new LogDirIdentity(OtherClusterId, 3, Guid.NewGuid()));

        var e = Assert.Throws<StartupStorageException>(() => Prepare(Config(), new() { [StartupStorage.ClusterIdVariable] = ClusterId }));

        Assert.Contains($"CLUSTER_ID is {ClusterId}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_DirectoriesOfTwoClusters_Refused()
    {
        LogDirFormat.Write(Directory.CreateDirectory(Dir("a")).FullName, new LogDirIdentity(ClusterId, 3, Guid.NewGuid()));
        LogDirFormat.Write(Directory.CreateDirectory(Dir("b")).FullName, new LogDirIdentity(OtherClusterId, 3, Guid.NewGuid()));

        var e = Assert.Throws<StartupStorageException>(() => Prepare(Config()));

        Assert.Contains("belong to different clusters", e.Message, StringComparison.Ordinal);
        Assert.Empty(Entries(Dir("meta")));
    }

    [Fact]
    public void Prepare_DirectoryOfAnotherNode_RefusedNamingBothNodeIds()
    {
        LogDirFormat.Write(Directory.CreateDirectory(Dir("meta")).FullName, new LogDirIdentity(ClusterId, 7, Guid.NewGuid()));

        var e = Assert.Throws<StartupStorageException>(() => Prepare(Config()));

        Assert.Contains("belongs to node.id 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("this broker is node.id 3", e.Message, StringComparison.Ordinal);
        Assert.Empty(Entries(Dir("a")));
    }

    [Fact]
    public void Prepare_LogDirPathIsAFile_RefusedAndNothingWritten()
    {
        File.WriteAllText(Dir("b"), "not a directory");

        var e = Assert.Throws<StartupStorageException>(() => Prepare(Config()));

        Assert.Contains($"Log directory {Dir("b")} does not exist and cannot be created", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", e.Message, StringComparison.Ordinal);
        Assert.Empty(Entries(Dir("a")));
    }

    [Fact]
    public void Prepare_UnreadableMetaProperties_Refused()
    {
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(Dir("a")).FullName, "meta.properties"), "version=1\nnode.id=oops\n");

        var e = Assert.Throws<StartupStorageException>(() => Prepare(Config()));

        Assert.Contains("unreadable meta.properties", e.Message, StringComparison.Ordinal);
        Assert.Empty(Entries(Dir("b")));
    }

    [Fact]
    public void Prepare_InvalidClusterIdVariable_ConfigErrorNamingIt()
    {
        var e = Assert.Throws<ConfigException>(() => Prepare(Config(), new() { [StartupStorage.ClusterIdVariable] = "not-a-uuid" }));

        Assert.StartsWith("CLUSTER_ID=not-a-uuid is not a valid cluster id", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Dir("a")));
    }

    [Fact]
    public async Task Start_AutoFormatRefused_ExitCode1WithTheReason()
    {
        LogDirFormat.Write(Directory.CreateDirectory(Dir("a")).FullName, new LogDirIdentity(OtherClusterId, 3, Guid.NewGuid()));
        var config = Path.Combine(_root, "server.properties");
        await File.WriteAllTextAsync(config, $"node.id=3\nlog.dirs={Dir("a")}\ncluster.id={ClusterId}\n");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CliApplication.RunAsync(["start", "--auto-format", "--config", config, "--log-level", "none"], output, error);

        Assert.Equal(1, code);
        Assert.StartsWith($"error: Log directory {Dir("a")} belongs to cluster.id {OtherClusterId}", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_HealthPortDisabled_ExitCode1SayingSo()
    {
        var config = Path.Combine(_root, "server.properties");
        await File.WriteAllTextAsync(config, "health.port=-1\n");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CliApplication.RunAsync(["health", "--config", config], output, error);

        Assert.Equal(1, code);
        Assert.Contains("health.port is -1", error.ToString(), StringComparison.Ordinal);
    }
}
