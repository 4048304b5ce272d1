using Broker.Cluster.Raft;
using Broker.Server.Configuration;
using Broker.Server.Raft;

namespace Broker.Server.Tests.Raft;

/// <summary><c>controller.quorum.bootstrap.servers</c> and the metadata snapshot keys; every error names its key.</summary>
public sealed class QuorumBootstrapSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("quorum-bootstrap-").FullName;
    private const string Voters = "1@127.0.0.1:9093,2@127.0.0.1:9094,3@127.0.0.1:9095";
    private const string Bootstrap = "127.0.0.1:9093,127.0.0.1:9094";

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static BrokerConfig Load(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["process.roles"] = "broker,controller",
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
            ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["controller.listener.names"] = "CONTROLLER",
            ["log.dirs"] = "/tmp/unused-quorum-settings",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return BrokerConfig.Load(null, new Dictionary<string, string>(), settings, null);
    }

    [Fact]
    public void From_VotersAndBootstrapServers_StaticQuorumWithBootstrapForDiscovery()
    {
        var quorum = QuorumSettings.From(Load(("controller.quorum.voters", Voters), ("controller.quorum.bootstrap.servers", Bootstrap)));

        Assert.NotNull(quorum);
        Assert.Equal([1, 2, 3], quorum.VoterIds);
        Assert.Equal([-2, -3], quorum.BootstrapServers.Select(b => b.Id));
        Assert.Equal([-2, -3], quorum.DiscoveryIds);
    }

    [Fact]
    public void From_Retention_KafkaDefaultsAndOverrides()
    {
        var defaults = QuorumSettings.From(Load(("controller.quorum.voters", Voters)))!;
        var set = QuorumSettings.From(Load(("controller.quorum.voters", Voters), ("metadata.max.retention.bytes", "-1"),
            ("metadata.max.retention.ms", "5000"), ("metadata.retention.check.interval.ms", "250")))!;

        Assert.Equal(new SnapshotRetention(104_857_600, 604_800_000), defaults.Retention);
        Assert.Equal(60_000, defaults.RetentionCheckIntervalMs);
        Assert.Equal(new SnapshotRetention(-1, 5000), set.Retention);
        Assert.Equal(250, set.RetentionCheckIntervalMs);
    }

    [Theory]
    [InlineData("metadata.max.retention.bytes", "lots")]
    [InlineData("metadata.max.retention.ms", "1.5")]
    [InlineData("metadata.retention.check.interval.ms", "-1")]
    public void Load_BadRetentionValue_ErrorNamesTheKey(string key, string value)
    {
        var error = Assert.ThrowsAny<Exception>(() => Load(("controller.quorum.voters", Voters), (key, value)));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LocalListeners_ControllerListenerAdvertisedOrBound_WildcardHostIsLocalhost()
    {
        var bound = QuorumSettings.LocalListeners(Load(("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://0.0.0.0:9093")));
        var advertised = QuorumSettings.LocalListeners(Load(("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://0.0.0.0:9093"),
            ("advertised.listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://c1.example:9093")));

        Assert.Equal([new VoterListener("CONTROLLER", "localhost", 9093)], bound);
        Assert.Equal([new VoterListener("CONTROLLER", "c1.example", 9093)], advertised);
    }

    [Fact]
    public void From_VotersOnly_ObserversDiscoverThroughTheVoters()
    {
        var quorum = QuorumSettings.From(Load(("controller.quorum.voters", Voters)));

        Assert.NotNull(quorum);
        Assert.Empty(quorum.BootstrapServers);
        Assert.Equal([1, 2, 3], quorum.DiscoveryIds);
    }

    [Fact]
    public void From_BrokerOnlyWithBootstrapServersOnly_ObserverWithoutVoters()
    {
        var quorum = QuorumSettings.From(Load(("node.id", "7"), ("process.roles", "broker"), ("listeners", "PLAINTEXT://127.0.0.1:9092"),
            ("controller.quorum.bootstrap.servers", Bootstrap)));

        Assert.NotNull(quorum);
        Assert.Empty(quorum.Voters);
        Assert.False(quorum.IsVoter(7));
        Assert.Equal(9094, quorum.BootstrapServers[1].Port);
    }

    [Fact]
    public void From_ControllerWithBootstrapServersOnlyUnformatted_ThrowsNamingBootstrapServersAndTheFormatFlags()
    {
        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("controller.quorum.bootstrap.servers", Bootstrap),
            ("log.dirs", _dir))));

        Assert.Equal("controller.quorum.bootstrap.servers", error.Key);
        Assert.Contains("--standalone or --initial-controllers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_ControllerFormattedWithNoInitialControllers_DynamicObserverWithoutVoters()
    {
        Broker.Storage.LogDirFormat.Write(_dir, new Broker.Storage.LogDirIdentity("MkU3OEVBNTcwNTJENDM2Qg", 1, Guid.NewGuid()));

        var quorum = QuorumSettings.From(Load(("controller.quorum.bootstrap.servers", Bootstrap), ("log.dirs", _dir)));

        Assert.NotNull(quorum);
        Assert.Empty(quorum.Voters);
        Assert.Equal(1, quorum.KRaftVersion);
        Assert.Equal([-2, -3], quorum.DiscoveryIds);
    }

    [Fact]
    public void From_ControllerWithBootstrapServersOnlyFormattedWithVoters_TheStoredVotersOnTheControllerListener()
    {
        var (dir1, dir2) = (Guid.NewGuid(), Guid.NewGuid());
        BootstrapVoters.Write(_dir, [new InitialController(1, "c1", 9093, dir1), new InitialController(2, "c2", 9094, dir2)],
            "CONTROLLER", 1_000);

        var quorum = QuorumSettings.From(Load(("controller.quorum.bootstrap.servers", Bootstrap), ("log.dirs", _dir)));

        Assert.NotNull(quorum);
        Assert.Equal([new VoterEndpoint(1, "c1", 9093) { DirectoryId = dir1 }, new VoterEndpoint(2, "c2", 9094) { DirectoryId = dir2 }], quorum.Voters);
        Assert.Equal(1, quorum.KRaftVersion);
        Assert.True(quorum.IsVoter(1));
        Assert.Equal([-2, -3], quorum.DiscoveryIds);
    }

    [Fact]
    public void From_StoredVotersWithoutThisNode_ThrowsNamingTheVoters()
    {
        BootstrapVoters.Write(_dir, [new InitialController(2, "c2", 9094, Guid.NewGuid())], "CONTROLLER", 1_000);

        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("controller.quorum.bootstrap.servers", Bootstrap), ("log.dirs", _dir))));

        Assert.Equal("controller.quorum.voters", error.Key);
        Assert.Contains("must be one of the voters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void From_CorruptStoredVoters_ConfigErrorNamingTheFile()
    {
        var partition = BootstrapVoters.PartitionDirectory(_dir);
        Directory.CreateDirectory(partition);
        File.WriteAllBytes(Path.Combine(partition, "00000000000000000000-0000000000.checkpoint"), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2]);

        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("controller.quorum.bootstrap.servers", Bootstrap), ("log.dirs", _dir))));

        Assert.Contains("00000000000000000000-0000000000.checkpoint", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:port")]
    [InlineData(":9093")]
    public void From_MalformedBootstrapServers_ThrowsNamingBootstrapServers(string value)
    {
        var error = Assert.Throws<ConfigException>(() => QuorumSettings.From(Load(("controller.quorum.voters", Voters),
            ("controller.quorum.bootstrap.servers", value))));

        Assert.Equal("controller.quorum.bootstrap.servers", error.Key);
    }

    [Fact]
    public void SnapshotPolicy_Defaults_KafkasTwentyMebibytesAndOneHour()
    {
        var policy = QuorumSettings.SnapshotPolicy(Load());

        Assert.Equal(20 * 1024 * 1024, policy.MaxBytesBetweenSnapshots);
        Assert.Equal(3_600_000, policy.MaxIntervalMs);
        Assert.Equal(1024 * 1024 * 1024, policy.LogSegmentBytes);
    }

    [Fact]
    public void SnapshotPolicy_Overrides_AreRead()
    {
        var policy = QuorumSettings.SnapshotPolicy(Load(("metadata.log.max.record.bytes.between.snapshots", "4096"),
            ("metadata.log.max.snapshot.interval.ms", "0"), ("metadata.log.segment.bytes", "8192")));

        Assert.Equal((4096L, 0L, 8192), (policy.MaxBytesBetweenSnapshots, policy.MaxIntervalMs, policy.LogSegmentBytes!.Value));
    }

    [Fact]
    public void Load_ZeroBytesBetweenSnapshots_ThrowsNamingTheKey()
    {
        var error = Assert.Throws<ConfigException>(() => Load(("metadata.log.max.record.bytes.between.snapshots", "0")));

        Assert.Equal("metadata.log.max.record.bytes.between.snapshots", error.Key);
    }
}
