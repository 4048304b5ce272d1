using Broker.Cluster.Metadata;
using Broker.Protocol.Metadata;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Server.Tests.Startup;

/// <summary>A broker started on storage formatted by the storage tool adopts its cluster id and bootstrap metadata.</summary>
public sealed class FormattedStorageTests : IDisposable
{
    private const string ClusterId = "MkU3OEVBNTcwNTJENDM2Qg";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "formatted-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private BrokerConfig Config() => BrokerConfig.Load(null, new Dictionary<string, string>(), new Dictionary<string, string>
    {
        ["node.id"] = "1",
        ["listeners"] = "PLAINTEXT://127.0.0.1:9092",
        ["log.dirs"] = _root,
    });

    [Fact]
    public void Start_OnFormattedStorage_UsesItsClusterIdAndBootstrapFeatures()
    {
        StorageFormatter.Format(new StorageFormatOptions(ClusterId, 1, [_root], _root), 1_700_000_000_000);

        using (var components = BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System))
        {
            Assert.Equal(ClusterId, components.Metadata.Image.ClusterId);
            Assert.Equal(MetadataFeatures.MetadataVersionLevel, components.Metadata.Image.FinalizedFeatures[MetadataFeatures.MetadataVersion]);
        }

        // The bootstrap records are committed once: a restart replays them from the log and adds nothing.
        long offsetAfterFirstStart;
        using (var components = BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System))
        {
            offsetAfterFirstStart = components.Metadata.Image.Offset;
        }

        using (var components = BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System))
        {
            Assert.Equal(offsetAfterFirstStart, components.Metadata.Image.Offset);
            Assert.Equal(ClusterId, components.Metadata.Image.ClusterId);
        }
    }

    [Fact]
    public void Start_BootstrapWithAnUnsupportedMetadataVersion_RefusedNamingTheFile()
    {
        StorageFormatter.Format(new StorageFormatOptions(ClusterId, 1, [_root], _root), 1_700_000_000_000);
        BootstrapCheckpoint.Write(_root, [new FeatureLevelRecord { Name = MetadataFeatures.MetadataVersion, FeatureLevel = 7 }], 1_700_000_000_000);

        var e = Assert.Throws<ConfigException>(() => BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System));

        Assert.Contains(BootstrapCheckpoint.FileName, e.Message, StringComparison.Ordinal);
        Assert.Contains("level 7", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_CorruptBootstrap_RefusedNamingTheFile()
    {
        StorageFormatter.Format(new StorageFormatOptions(ClusterId, 1, [_root], _root), 1_700_000_000_000);
        var path = Path.Combine(_root, BootstrapCheckpoint.FileName);
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<ConfigException>(() => BrokerComponents.Create(Config(), NullLoggerFactory.Instance, TimeProvider.System));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
