using System.Text;
using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;

namespace Broker.Cluster.Tests.Raft;

public sealed class MetadataSnapshotTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metadata-snapshot-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void WriteRead_RichImage_RebuildsTheSameImage()
    {
        var image = SnapshotTestImages.Rich();

        var bytes = MetadataSnapshot.Write(image, epoch: 7, lastContainedTimestampMs: 1_700_000_000_000);
        var read = MetadataSnapshot.Read(bytes, image.ClusterId, image.ControllerId, endOffset: image.Offset + 1, "test");

        Assert.Equal(SnapshotTestImages.Describe(image), SnapshotTestImages.Describe(read));
        Assert.Equal(image.Offset, read.Offset);
        Assert.Equal(7_000, read.NextProducerId);
        Assert.True(read.Brokers[2].Fenced);
        Assert.Equal("v2", read.TopicsByName["orders"].Configs["retention.ms"]);
    }

    [Fact]
    public void Write_RichImage_HasHeaderMetadataBatchesAndFooterAtTheSnapshotEpoch()
    {
        var bytes = MetadataSnapshot.Write(SnapshotTestImages.Rich(), epoch: 7, lastContainedTimestampMs: 5);

        var batches = new List<RecordBatch>();
        using var reader = new RecordBatchReader(bytes);
        while (reader.TryReadBatch(out var batch))
        {
            Assert.True(batch.IsCrcValid);
            Assert.Equal(7, RecordBatchHeader.PartitionLeaderEpoch(bytes.AsSpan((int)reader.Position - batch.Memory.Length)));
            batches.Add(batch);
        }

        Assert.True(batches[0].IsControl);
        Assert.True(batches[^1].IsControl);
        Assert.All(batches.Skip(1).SkipLast(1), b => Assert.False(b.IsControl));
        Assert.Equal(0, batches[0].BaseOffset);
        for (var i = 1; i < batches.Count; i++)
        {
            Assert.Equal(batches[i - 1].NextOffset, batches[i].BaseOffset);
        }
    }

    [Fact]
    public void Write_WithVoters_KRaftVersionAndVotersAfterTheHeaderAndTheImageUnchanged()
    {
        var image = SnapshotTestImages.Rich();
        var voters = new VoterSet([new RaftVoter(1, Guid.NewGuid(), [new VoterListener("CONTROLLER", "c1", 9093)]),
            new RaftVoter(2, Guid.NewGuid(), [new VoterListener("CONTROLLER", "c2", 9094)])]);

        var bytes = MetadataSnapshot.Write(image, epoch: 7, lastContainedTimestampMs: 5, voters.ToRecord());

        var batches = RecordBatchReader.ReadAll(bytes);
        var controlTypes = batches.Where(b => b.Batch.IsControl).Select(b => (int)b.Record.Key.Span[3]).ToList();
        Assert.Equal([3, 5, 6, 4], controlTypes);
        Assert.Equal(voters.ToString(), VoterSet.From(MetadataSnapshot.ReadVoters(bytes, "test")!).ToString());
        var read = MetadataSnapshot.Read(bytes, image.ClusterId, image.ControllerId, endOffset: image.Offset + 1, "test");
        Assert.Equal(SnapshotTestImages.Describe(image), SnapshotTestImages.Describe(read));
        Assert.Null(MetadataSnapshot.ReadVoters(MetadataSnapshot.Write(image, 7, 5), "test"));
    }

    [Fact]
    public void Decode_TruncatedSnapshot_ThrowsNamingTheSource()
    {
        var bytes = MetadataSnapshot.Write(SnapshotTestImages.Rich(), epoch: 1, lastContainedTimestampMs: 5);

        var error = Assert.Throws<InvalidDataException>(() => MetadataSnapshot.Decode(bytes.AsMemory(0, bytes.Length - 3), "the-file"));

        Assert.Contains("the-file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_WithoutFooter_Throws()
    {
        var full = MetadataSnapshot.Write(SnapshotTestImages.Rich(), epoch: 1, lastContainedTimestampMs: 5);
        var footerSize = LastBatchSize(full);

        Assert.Throws<InvalidDataException>(() => MetadataSnapshot.Decode(full.AsMemory(0, full.Length - footerSize), "x"));
    }

    [Fact]
    public void Write_EmptyImage_ReadsBackEmptyAtTheEndOffset()
    {
        var empty = MetadataImage.Empty("c", 1);

        var read = MetadataSnapshot.Read(MetadataSnapshot.Write(empty, 3, 0), "c", 1, endOffset: 42, "x");

        Assert.Equal(41, read.Offset);
        Assert.Empty(read.TopicsById);
        Assert.Empty(read.Brokers);
    }

    [Fact]
    public void SnapshotFiles_WriteListReadDelete_UsesKafkaNamesAndRemovesParts()
    {
        var first = new OffsetAndEpoch(120, 3);
        var second = new OffsetAndEpoch(4_000, 5);
        SnapshotFiles.Write(_dir, second, [4, 5]);
        SnapshotFiles.Write(_dir, first, [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(_dir, "00000000000000009000-0000000005.checkpoint.part"), [9]);
        File.WriteAllBytes(Path.Combine(_dir, BootstrapCheckpoint.FileName), [9]);

        Assert.True(File.Exists(Path.Combine(_dir, "00000000000000000120-0000000003.checkpoint")));
        Assert.Equal([first, second], SnapshotFiles.List(_dir));
        Assert.False(File.Exists(Path.Combine(_dir, "00000000000000009000-0000000005.checkpoint.part")));
        Assert.Equal([1, 2, 3], SnapshotFiles.Read(_dir, first));

        Assert.Equal(1, SnapshotFiles.DeleteBefore(_dir, second));
        Assert.Equal([second], SnapshotFiles.List(_dir));
        Assert.True(File.Exists(Path.Combine(_dir, BootstrapCheckpoint.FileName)));
    }

    [Theory]
    [InlineData("00000000000000000120-0000000003.checkpoint", true)]
    [InlineData("00000000000000000120-0000000003.checkpoint.part", false)]
    [InlineData("bootstrap.checkpoint", false)]
    [InlineData("0000000000000000012x-0000000003.checkpoint", false)]
    public void TryParse_FileNames_AcceptsOnlySnapshots(string name, bool expected)
    {
        Assert.Equal(expected, SnapshotFiles.TryParse(name, out _));
    }

    private static int LastBatchSize(byte[] bytes)
    {
        var position = 0;
        var last = 0;
        while (position < bytes.Length)
        {
            last = RecordBatchHeader.TotalSize(bytes.AsSpan(position));
            position += last;
        }

        return last;
    }
}

/// <summary>Images for snapshot tests, built through the same records the controller commits. Stateless.</summary>
internal static class SnapshotTestImages
{
    public static MetadataImage Rich()
    {
        var orders = Guid.Parse("6f0c6a43-4d57-4ab4-8f6b-0f1b11d7a101");
        var gone = Guid.Parse("6f0c6a43-4d57-4ab4-8f6b-0f1b11d7a102");
        var logs = Guid.Parse("6f0c6a43-4d57-4ab4-8f6b-0f1b11d7a103");
        IApiMessage[] records =
        [
            new FeatureLevelRecord { Name = MetadataFeatures.MetadataVersion, FeatureLevel = MetadataFeatures.MetadataVersionLevel },
            new FeatureLevelRecord { Name = "kraft.version", FeatureLevel = 1 },
            Broker(1, "rack-a"), Broker(2, null), Broker(3, "rack-b"),
            new UnfenceBrokerRecord { Id = 1, Epoch = 11 },
            new UnfenceBrokerRecord { Id = 3, Epoch = 13 },
            new BrokerRegistrationChangeRecord { BrokerId = 3, InControlledShutdown = 1 },
            new TopicRecord { Name = "orders", TopicId = orders },
            Partition(orders, 0, [1, 2, 3]), Partition(orders, 1, [2, 3, 1]), Partition(orders, 2, [3, 1, 2]),
            new PartitionChangeRecord { TopicId = orders, PartitionId = 1, Leader = 3, Isr = [3, 1] },
            new PartitionChangeRecord { TopicId = orders, PartitionId = 2, Replicas = [3, 1, 2, 4], AddingReplicas = [4] },
            new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "retention.ms", Value = "v1" },
            new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "retention.ms", Value = "v2" },
            new ConfigRecord { ResourceType = 2, ResourceName = "orders", Name = "cleanup.policy", Value = "compact" },
            new TopicRecord { Name = "gone", TopicId = gone },
            Partition(gone, 0, [1]),
            new RemoveTopicRecord { TopicId = gone },
            new TopicRecord { Name = "__consumer_offsets", TopicId = logs },
            Partition(logs, 0, [2]),
            new ConfigRecord { ResourceType = 4, ResourceName = "", Name = "log.retention.ms", Value = "1000" },
            new ConfigRecord { ResourceType = 4, ResourceName = "2", Name = "log.cleaner.threads", Value = "2" },
            new ProducerIdsRecord { BrokerId = 1, BrokerEpoch = 11, NextProducerId = 6_000 },
            new ProducerIdsRecord { BrokerId = 2, BrokerEpoch = 12, NextProducerId = 7_000 },
        ];
        var builder = new MetadataImageBuilder(MetadataImage.Empty("cluster-x", 1));
        for (var i = 0; i < records.Length; i++)
        {
            builder.Apply(records[i], 100 + i);
        }

        return builder.Build();
    }

    /// <summary>Everything an image holds, in a canonical order, as text.</summary>
    public static string Describe(MetadataImage image)
    {
        var text = new StringBuilder();
        text.Append("cluster ").Append(image.ClusterId).Append(" pid ").Append(image.NextProducerId).AppendLine();
        foreach (var (name, level) in image.FinalizedFeatures)
        {
            text.Append("feature ").Append(name).Append('=').Append(level).AppendLine();
        }

        foreach (var broker in image.Brokers.Values)
        {
            text.Append("broker ").Append(broker.NodeId).Append(' ').Append(broker.Rack ?? "-").Append(' ').Append(broker.Fenced)
                .Append(' ').Append(broker.Epoch).Append(' ').Append(broker.IncarnationId).Append(' ').Append(broker.InControlledShutdown);
            foreach (var e in broker.Endpoints)
            {
                text.Append(' ').Append(e.ListenerName).Append('@').Append(e.Host).Append(':').Append(e.Port).Append('/').Append(e.SecurityProtocol);
            }

            text.AppendLine();
        }

        foreach (var topic in image.TopicsById.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            text.Append("topic ").Append(topic.Name).Append(' ').Append(topic.TopicId).AppendLine();
            foreach (var p in topic.Partitions)
            {
                text.Append("  p").Append(p.Partition).Append(" leader ").Append(p.Leader).Append(" le ").Append(p.LeaderEpoch)
                    .Append(" pe ").Append(p.PartitionEpoch).Append(" r ").AppendJoin(',', p.Replicas).Append(" isr ").AppendJoin(',', p.Isr)
                    .Append(" add ").AppendJoin(',', p.AddingReplicas).Append(" rm ").AppendJoin(',', p.RemovingReplicas)
                    .Append(" lrs ").Append(p.LeaderRecoveryState).AppendLine();
            }

            foreach (var (k, v) in topic.Configs.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                text.Append("  config ").Append(k).Append('=').Append(v).AppendLine();
            }
        }

        foreach (var (resource, configs) in image.BrokerConfigs.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            foreach (var (k, v) in configs.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                text.Append("broker-config [").Append(resource).Append("] ").Append(k).Append('=').Append(v).AppendLine();
            }
        }

        return text.ToString();
    }

    private static RegisterBrokerRecord Broker(int id, string? rack)
    {
        var record = new RegisterBrokerRecord
        {
            BrokerId = id, BrokerEpoch = 10 + id, IncarnationId = new Guid(id, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), Rack = rack, Fenced = true,
        };
        record.EndPoints.Add(new RegisterBrokerRecord.BrokerEndpoint { Name = "PLAINTEXT", Host = "h" + id, Port = (ushort)(9090 + id), SecurityProtocol = 0 });
        record.EndPoints.Add(new RegisterBrokerRecord.BrokerEndpoint { Name = "SSL", Host = "h" + id, Port = (ushort)(9190 + id), SecurityProtocol = 1 });
        return record;
    }

    private static PartitionRecord Partition(Guid topic, int index, List<int> replicas) => new()
    {
        TopicId = topic, PartitionId = index, Replicas = replicas, Isr = [.. replicas], Leader = replicas[0], LeaderEpoch = 0, PartitionEpoch = 0,
    };
}
