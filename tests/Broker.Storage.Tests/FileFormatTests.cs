using Broker.Storage.Checkpoints;

namespace Broker.Storage.Tests;

public sealed class FileFormatTests
{
    [Fact]
    public void OffsetCheckpointFormat_Entries_MatchesGolden()
    {
        var text = OffsetCheckpointFile.Format([new("orders", 0, 1234), new("my.topic-v2", 11, 0)]);

        Assert.Equal("0\n2\norders 0 1234\nmy.topic-v2 11 0\n", text);
    }

    [Fact]
    public void OffsetCheckpointFormat_Empty_MatchesGolden()
    {
        Assert.Equal("0\n0\n", OffsetCheckpointFile.Format([]));
    }

    [Fact]
    public void OffsetCheckpointParse_Golden_RoundTrips()
    {
        var entries = new Dictionary<(string Topic, int Partition), long>();

        Assert.True(OffsetCheckpointFile.TryParse("0\n2\norders 0 1234\nmy.topic-v2 11 0\n", entries, out _));

        Assert.Equal(1234, entries[("orders", 0)]);
        Assert.Equal(0, entries[("my.topic-v2", 11)]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1\n0\n")]
    [InlineData("0\n2\norders 0 1\n")]
    [InlineData("0\n1\norders zero 1\n")]
    public void OffsetCheckpointParse_Malformed_ReturnsFalse(string text)
    {
        Assert.False(OffsetCheckpointFile.TryParse(text, [], out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void PartitionMetadataFormat_TopicId_MatchesGolden()
    {
        var id = new Guid("6f1f0a52-7c1e-4b8e-9a55-0c2b3a9f1d11");

        var text = PartitionMetadataFile.Format(id);

        Assert.Equal("version: 0\ntopic_id: bx8KUnweS46aVQwrOp8dEQ\n", text);
        Assert.True(PartitionMetadataFile.TryParse(text, out var parsed));
        Assert.Equal(id, parsed);
    }

    [Fact]
    public void MetaPropertiesParse_KafkaWrittenFile_Accepted()
    {
        const string written = "#\n#Tue Nov 25 10:00:00 UTC 2025\nnode.id=4\ndirectory.id=bx8KUnweS46aVQwrOp8dEQ\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n";

        var meta = MetaProperties.Parse(written, "meta.properties");

        Assert.Equal(new MetaProperties(1, 4, "MkU3OEVBNTcwNTJENDM2Qg", new Guid("6f1f0a52-7c1e-4b8e-9a55-0c2b3a9f1d11")), meta);
        Assert.Equal("cluster.id=MkU3OEVBNTcwNTJENDM2Qg\ndirectory.id=bx8KUnweS46aVQwrOp8dEQ\nnode.id=4\nversion=1\n", meta.Format());
    }

    [Fact]
    public void MetaPropertiesParse_ZooKeeperEraVersion_Rejected()
    {
        var error = Assert.Throws<InvalidDataException>(() => MetaProperties.Parse("version=0\nbroker.id=1\ncluster.id=x\n", "m"));

        Assert.Contains("version=0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CleanShutdownFormat_Epoch_MatchesGolden()
    {
        Assert.Equal("{\"version\":0,\"brokerEpoch\":-1}", CleanShutdownFile.Format(-1));
    }
}
