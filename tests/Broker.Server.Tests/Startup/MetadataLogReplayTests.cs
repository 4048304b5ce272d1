using System.Buffers.Binary;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Server.Tests.Startup;

public sealed class MetadataLogReplayTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "metadata-replay-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Replay_SkipsRaftControlBatches_AndAppliesTheRecordsAroundThem()
    {
        var options = new LogManagerOptions([_root], 1, "MkU3OEVBNTcwNTJENDM2Qg", LogConfig.Default);
        using (var logs = LogManager.Open(options, TimeProvider.System))
        using (var metadata = LocalMetadataLog.Open(logs, 1, TimeProvider.System, NullLogger<LocalMetadataLog>.Instance))
        {
            await metadata.CommitAsync([new FeatureLevelRecord { Name = MetadataFeatures.MetadataVersion, FeatureLevel = 25 }], CancellationToken.None);

            // A LEADER_CHANGE control batch, as a Raft leader writes at the start of its epoch.
            Assert.True(logs.TryGetLog(LocalMetadataLog.TopicName, 0, out var log));
            var key = new byte[4];
            BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), 2);
            using var value = new KafkaWriter(64);
            new LeaderChangeMessage { Version = 0, LeaderId = 1 }.Write(value, 0);
            using var batch = new RecordBatchBuilder { IsControl = true };
            batch.Append(1, key, value.WrittenSpan.ToArray());
            log.Append(batch.ToArray(), 0, 1, logAppendTime: false);

            await metadata.CommitAsync([new FeatureLevelRecord { Name = "group.version", FeatureLevel = 1 }], CancellationToken.None);
        }

        using (var logs = LogManager.Open(options, TimeProvider.System))
        using (var metadata = LocalMetadataLog.Open(logs, 1, TimeProvider.System, NullLogger<LocalMetadataLog>.Instance))
        {
            Assert.Equal(25, metadata.Image.FinalizedFeatures[MetadataFeatures.MetadataVersion]);
            Assert.Equal(1, metadata.Image.FinalizedFeatures["group.version"]);
            Assert.Equal(2, metadata.Image.Offset);
        }
    }
}
