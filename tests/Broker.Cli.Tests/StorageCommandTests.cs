using Broker.Cluster.Metadata;
using Broker.Protocol.Metadata;
using Broker.Storage;

namespace Broker.Cli.Tests;

public sealed class StorageCommandTests : IDisposable
{
    private const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "storage-cmd-" + Guid.NewGuid().ToString("N"));
    private readonly string _config;

    public StorageCommandTests()
    {
        Directory.CreateDirectory(_root);
        _config = Path.Combine(_root, "server.properties");
        File.WriteAllText(_config, $"node.id=3\nlog.dirs={Dir("a")},{Dir("b")}\nmetadata.log.dir={Dir("meta")}\n");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Dir(string name) => Path.Combine(_root, name);

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task RandomUuid_PrintsADistinctValidClusterIdEachTime()
    {
        var first = await RunAsync("storage", "random-uuid");
        var second = await RunAsync("storage", "random-uuid");

        Assert.Equal(0, first.Code);
        Assert.Equal(22, first.Output.Trim().Length);
        Assert.True(LogDirFormat.IsValidUuid(first.Output.Trim()));
        Assert.NotEqual(first.Output, second.Output);
    }

    [Fact]
    public async Task Format_WritesMetaPropertiesEverywhereAndBootstrapMetadataInTheMetadataDir()
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId);

        Assert.Equal(0, result.Code);
        var directoryIds = new HashSet<Guid>();
        foreach (var name in new[] { "a", "b", "meta" })
        {
            var identity = LogDirFormat.Read(Dir(name));
            Assert.NotNull(identity);
            Assert.Equal(ClusterId, identity.ClusterId);
            Assert.Equal(3, identity.NodeId);
            Assert.True(directoryIds.Add(identity.DirectoryId));
            Assert.Contains("Formatted " + Dir(name), result.Output, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(Path.Combine(Dir("a"), BootstrapCheckpoint.FileName)));
        var records = BootstrapCheckpoint.TryRead(Dir("meta"));
        var feature = Assert.IsType<FeatureLevelRecord>(Assert.Single(records!));
        Assert.Equal(MetadataFeatures.MetadataVersion, feature.Name);
        Assert.Equal(MetadataFeatures.MetadataVersionLevel, feature.FeatureLevel);
    }

    [Fact]
    public async Task Format_Twice_RefusedNamingTheDirectoryAndNothingChanges()
    {
        Assert.Equal(0, (await RunAsync("storage", "format", "-c", _config, "-t", ClusterId)).Code);
        var before = File.ReadAllBytes(Path.Combine(Dir("a"), "meta.properties"));

        var again = await RunAsync("storage", "format", "-c", _config, "-t", "AAAAAAAAAAAAAAAAAAAAAg");

        Assert.Equal(1, again.Code);
        Assert.Contains("is already formatted", again.Error, StringComparison.Ordinal);
        Assert.Contains("--ignore-formatted", again.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(Dir("a"), "meta.properties")));
    }

    [Fact]
    public async Task Format_IgnoreFormatted_FormatsOnlyTheNewDirectory()
    {
        Assert.Equal(0, (await RunAsync("storage", "format", "-c", _config, "-t", ClusterId)).Code);
        var metaBefore = LogDirFormat.Read(Dir("meta"));

        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "-g",
            "--override", $"log.dirs={Dir("a")},{Dir("b")},{Dir("c")}");

        Assert.Equal(0, result.Code);
        Assert.Contains("Formatted " + Dir("c"), result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Formatted " + Dir("a"), result.Output, StringComparison.Ordinal);
        Assert.Equal(ClusterId, LogDirFormat.Read(Dir("c"))!.ClusterId);
        Assert.Equal(metaBefore, LogDirFormat.Read(Dir("meta")));

        var none = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "-g");
        Assert.Equal(1, none.Code);
        Assert.Contains("All of the log directories are already formatted", none.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-uuid", "does not appear to be a valid UUID")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA", "does not appear to be a valid UUID")]
    public async Task Format_InvalidClusterId_RefusedAndNothingWritten(string clusterId, string message)
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", clusterId);

        Assert.Equal(1, result.Code);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Dir("a")));
        Assert.False(Directory.Exists(Dir("meta")));
    }

    [Fact]
    public async Task Format_UnknownReleaseVersion_RefusedListingTheSupportedOnes()
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "--release-version", "3.3-IV3");

        Assert.Equal(1, result.Code);
        Assert.Contains("Unknown release version '3.3-IV3'. Supported versions are: 4.0-IV3, 4.0.", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Dir("meta")));
    }

    [Fact]
    public async Task Format_InvalidConfig_ExitCode2NamingTheKey()
    {
        var result = await RunAsync("storage", "format", "-c", _config, "-t", ClusterId, "--override", "node.id=abc");

        Assert.Equal(2, result.Code);
        Assert.Contains("node.id", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_ReportsEachDirectory()
    {
        var unformatted = await RunAsync("storage", "info", "-c", _config);
        Assert.Equal(1, unformatted.Code);
        Assert.Contains(Dir("a") + ": not formatted", unformatted.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync("storage", "format", "-c", _config, "-t", ClusterId)).Code);
        var formatted = await RunAsync("storage", "info", "-c", _config);

        Assert.Equal(0, formatted.Code);
        Assert.Contains($"{Dir("b")}: cluster.id={ClusterId} node.id=3 directory.id=", formatted.Output, StringComparison.Ordinal);

        var otherNode = await RunAsync("storage", "info", "-c", _config, "--override", "node.id=4");
        Assert.Equal(1, otherNode.Code);
        Assert.Contains("(but this node is node.id 4)", otherNode.Output, StringComparison.Ordinal);
    }
}
