using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol.Metadata;
using Broker.Server.Configuration;
using Broker.Server.Raft;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Server.Tests.Startup;

/// <summary>
/// A node without controller.quorum.voters runs the Raft metadata store as a one-voter quorum of itself, and opens data
/// directories written before that (the committed fixture was produced by the pre-Raft single-node metadata log: a
/// broker registration, the bootstrap features and an auto-created topic "legacy" holding three records).
/// </summary>
public sealed class SoleVoterStartupTests : IDisposable
{
    private const string FixtureClusterId = "7C47UJmbTu--yqq0Gietrw";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sole-voter-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private BrokerConfig Config(Dictionary<string, string>? extra = null)
    {
        var values = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092",
            ["log.dirs"] = _root,
        };
        foreach (var (key, value) in extra ?? [])
        {
            values[key] = value;
        }

        return BrokerConfig.Load(null, new Dictionary<string, string>(), values);
    }

    private string QuorumStateText() =>
        File.ReadAllText(Path.Combine(_root, MetadataTopic.TopicName + "-0", FileQuorumStateStore.FileName));

    [Fact]
    public async Task Create_NoVoters_ElectsItselfPersistsTheEpochAndCommitsAtOnce()
    {
        long offset;
        using (var components = BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System))
        {
            Assert.Null(components.Quorum);
            Assert.Equal((RaftRole.Leader, 1, 1), components.SoleVoter!.State);
            Assert.Contains("\"leaderId\":1,\"leaderEpoch\":1,", QuorumStateText(), StringComparison.Ordinal);

            var commit = components.Metadata.CommitAsync([new FeatureLevelRecord { Name = "group.version", FeatureLevel = 1 }], CancellationToken.None);

            Assert.True(commit.IsCompletedSuccessfully);
            offset = (await commit).Offset;
        }

        using (var components = BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System))
        {
            // Each start is a new epoch of the same one-voter quorum; the image is replayed, nothing re-committed.
            Assert.Equal((RaftRole.Leader, 2, 1), components.SoleVoter!.State);
            Assert.Contains("\"leaderId\":1,\"leaderEpoch\":2,", QuorumStateText(), StringComparison.Ordinal);
            Assert.Equal(offset, components.Metadata.Image.Offset);
            Assert.Equal(1, components.Metadata.Image.FinalizedFeatures["group.version"]);
        }
    }

    [Fact]
    public async Task Create_DataDirWrittenBeforeRaft_ReplaysItAndAppendsAfterIt()
    {
        PreRaftDataDir.CopyTo(_root);

        using (var components = BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System))
        {
            var image = components.Metadata.Image;
            Assert.Equal(FixtureClusterId, image.ClusterId);
            Assert.Equal((RaftRole.Leader, 1, 1), components.SoleVoter!.State);
            Assert.Equal(MetadataFeatures.MetadataVersionLevel, image.FinalizedFeatures[MetadataFeatures.MetadataVersion]);
            Assert.True(image.Brokers.ContainsKey(1));
            var legacy = Assert.Single(image.TopicsByName.Values, t => t.Name == "legacy");
            Assert.Single(legacy.Partitions);
            Assert.True(components.Logs.TryGetLog("legacy", 0, out var log));
            Assert.Equal(3, log.LogEndOffset);

            await components.Metadata.CommitAsync([new FeatureLevelRecord { Name = "group.version", FeatureLevel = 1 }], CancellationToken.None);
        }

        using (var components = BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System))
        {
            Assert.Equal((RaftRole.Leader, 2, 1), components.SoleVoter!.State);
            Assert.Equal(1, components.Metadata.Image.FinalizedFeatures["group.version"]);
            Assert.Contains("legacy", components.Metadata.Image.TopicsByName.Keys);
        }
    }

    [Fact]
    public void SoleVoter_ControllerListenerDefined_VoterIsThisNodeAtThatListener()
    {
        var config = Config(new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
            ["controller.listener.names"] = "CONTROLLER",
        });

        var quorum = QuorumSettings.SoleVoter(config);

        Assert.Equal([new VoterEndpoint(1, "127.0.0.1", 9093)], quorum.Voters);
        Assert.Equal(1, quorum.Majority);
    }

    [Fact]
    public void SoleVoter_NoControllerListener_VoterIsThisNodeAtAnUndialledEndpoint()
    {
        var quorum = QuorumSettings.SoleVoter(Config());

        Assert.Equal([new VoterEndpoint(1, "127.0.0.1", 0)], quorum.Voters);
    }
}
