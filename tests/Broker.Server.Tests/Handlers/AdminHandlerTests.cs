using Broker.Cluster.Controller;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;

namespace Broker.Server.Tests.Handlers;

/// <summary>DeleteRecords, DescribeLogDirs and the other admin reads through the real handler table.</summary>
public sealed class AdminHandlerTests : IDisposable
{
    private readonly HandlerHarness _harness = new();

    public AdminHandlerTests()
    {
        var created = _harness.Components.Services.Topics.CreateTopicsAsync(
            [
                new NewTopic("t", 2, 1, null, new Dictionary<string, string?>()),
                new NewTopic("c", 1, 1, null, new Dictionary<string, string?> { ["cleanup.policy"] = "compact" }),
            ],
            false,
            CancellationToken.None).GetAwaiter().GetResult();
        Assert.All(created, c => Assert.Equal(ErrorCode.None, c.Error));
        for (var i = 0; i < 10; i++)
        {
            Produce("t", 0, 1_700_000_000_000 + i);
        }
    }

    public void Dispose() => _harness.Dispose();

    private void Produce(string topic, int partition, long timestamp)
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(timestamp, null, [1, 2, 3]);
        var request = new ProduceRequest { Acks = -1, TimeoutMs = 1000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = topic,
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = builder.ToArray() }],
        });
        _harness.CallAsync(0, 9, request).GetAwaiter().GetResult();
    }

    private async Task<TResponse> CallAsync<TResponse>(short apiKey, short version, IApiMessage request)
        where TResponse : IApiMessage, new()
    {
        var body = await _harness.CallAsync(apiKey, version, request);
        var response = new TResponse();
        var reader = new KafkaReader(body!);
        response.Read(ref reader, version);
        return response;
    }

    private Task<DeleteRecordsResponse> DeleteAsync(string topic, int partition, long offset) =>
        CallAsync<DeleteRecordsResponse>(21, 2, new DeleteRecordsRequest
        {
            Topics = [new DeleteRecordsRequest.DeleteRecordsTopic { Name = topic, Partitions = [new DeleteRecordsRequest.DeleteRecordsPartition { PartitionIndex = partition, Offset = offset }] }],
            TimeoutMs = 1000,
        });

    [Fact]
    public async Task DeleteRecords_BelowHighWatermark_LowWatermarkMovedAndFetchBelowOutOfRange()
    {
        var response = await DeleteAsync("t", 0, 4);

        var result = response.Topics[0].Partitions[0];
        Assert.Equal((0, 4L), (result.ErrorCode, result.LowWatermark));
        Assert.Equal(4, _harness.Components.Services.Replicas.Get("t", 0)!.Log.LogStartOffset);

        var fetch = new FetchRequest { MaxWaitMs = 0, MinBytes = 0, MaxBytes = 1 << 20, IsolationLevel = 0 };
        fetch.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = "t",
            Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 2, PartitionMaxBytes = 1 << 20 }],
        });
        var fetched = await CallAsync<FetchResponse>(1, 12, fetch);
        Assert.Equal((short)ErrorCode.OffsetOutOfRange, fetched.Responses[0].Partitions[0].ErrorCode);
        Assert.Equal(4, fetched.Responses[0].Partitions[0].LogStartOffset);
    }

    [Fact]
    public async Task DeleteRecords_MinusOne_DeletesUpToHighWatermark()
    {
        var response = await DeleteAsync("t", 0, -1);

        Assert.Equal((0, 10L), (response.Topics[0].Partitions[0].ErrorCode, response.Topics[0].Partitions[0].LowWatermark));
    }

    [Theory]
    [InlineData("t", 0, 11, ErrorCode.OffsetOutOfRange)]
    [InlineData("t", 0, -5, ErrorCode.OffsetOutOfRange)]
    [InlineData("t", 9, 0, ErrorCode.UnknownTopicOrPartition)]
    [InlineData("missing", 0, 0, ErrorCode.UnknownTopicOrPartition)]
    [InlineData("c", 0, 0, ErrorCode.PolicyViolation)]
    public async Task DeleteRecords_BadTarget_KafkaErrorAndNothingDeleted(string topic, int partition, long offset, ErrorCode expected)
    {
        var response = await DeleteAsync(topic, partition, offset);

        var result = response.Topics[0].Partitions[0];
        Assert.Equal(((short)expected, -1L), (result.ErrorCode, result.LowWatermark));
        Assert.Equal(0, _harness.Components.Services.Replicas.Get("t", 0)!.Log.LogStartOffset);
    }

    [Fact]
    public async Task DeleteRecords_AfterRestart_LogStartKept()
    {
        await DeleteAsync("t", 0, 6);

        using var restarted = _harness.Restart();

        Assert.Equal(6, restarted.Components.Services.Replicas.Get("t", 0)!.Log.LogStartOffset);
    }

    [Fact]
    public async Task DescribeLogDirs_AllTopics_PartitionsWithSizesAndSpace()
    {
        var response = await CallAsync<DescribeLogDirsResponse>(35, 4, new DescribeLogDirsRequest { Topics = null });

        var dir = Assert.Single(response.Results);
        Assert.Equal(0, dir.ErrorCode);
        Assert.True(dir.TotalBytes > 0 && dir.UsableBytes > 0 && dir.UsableBytes <= dir.TotalBytes);
        var topics = dir.Topics.ToDictionary(t => t.Name);
        Assert.Equal(["c", "t"], topics.Keys.Order());
        var partitions = topics["t"].Partitions;
        Assert.Equal([0, 1], partitions.Select(p => p.PartitionIndex));
        Assert.Equal(_harness.Components.Services.Replicas.Get("t", 0)!.Log.SizeInBytes, partitions[0].PartitionSize);
        Assert.True(partitions[0].PartitionSize > 0);
        Assert.All(partitions, p => Assert.Equal((0L, false), (p.OffsetLag, p.IsFutureKey)));
    }

    [Fact]
    public async Task DescribeLogDirs_NamedPartitions_OnlyThoseThatExist()
    {
        var request = new DescribeLogDirsRequest { Topics = [new DescribeLogDirsRequest.DescribableLogDirTopic { Topic = "t", Partitions = [1, 5] }] };

        var response = await CallAsync<DescribeLogDirsResponse>(35, 1, request);

        var topic = Assert.Single(Assert.Single(response.Results).Topics);
        Assert.Equal(("t", 1), (topic.Name, Assert.Single(topic.Partitions).PartitionIndex));
        Assert.Equal(-1, response.Results[0].TotalBytes);
    }

    private Task<DescribeTopicPartitionsResponse> DescribePartitionsAsync(int limit, DescribeTopicPartitionsRequest.CursorData? cursor, params string[] topics) =>
        CallAsync<DescribeTopicPartitionsResponse>(75, 0, new DescribeTopicPartitionsRequest
        {
            Topics = [.. topics.Select(t => new DescribeTopicPartitionsRequest.TopicRequest { Name = t })],
            ResponsePartitionLimit = limit,
            Cursor = cursor,
        });

    [Fact]
    public async Task DescribeTopicPartitions_LimitAcrossTopics_PagesWithCursorUntilDone()
    {
        var seen = new List<(string, int)>();
        DescribeTopicPartitionsRequest.CursorData? cursor = null;
        var pages = 0;
        do
        {
            var response = await DescribePartitionsAsync(2, cursor);
            pages++;
            foreach (var topic in response.Topics)
            {
                Assert.Equal(0, topic.ErrorCode);
                seen.AddRange(topic.Partitions.Select(p => (topic.Name!, p.PartitionIndex)));
            }

            cursor = response.NextCursor is { } next ? new DescribeTopicPartitionsRequest.CursorData { TopicName = next.TopicName, PartitionIndex = next.PartitionIndex } : null;
        }
        while (cursor is not null && pages < 10);

        // All topics in name order: c-0, t-0, t-1; two partitions per page.
        Assert.Equal([("c", 0), ("t", 0), ("t", 1)], seen);
        Assert.Equal(2, pages);
    }

    [Fact]
    public async Task DescribeTopicPartitions_NamedTopics_FieldsAndUnknownTopicError()
    {
        var response = await DescribePartitionsAsync(100, null, "t", "zz-missing");

        Assert.Null(response.NextCursor);
        var topic = response.Topics[0];
        Assert.Equal(("t", (short)0, _harness.Image.TopicsByName["t"].TopicId, false), (topic.Name, topic.ErrorCode, topic.TopicId, topic.IsInternal));
        var partition = topic.Partitions[1];
        Assert.Equal((1, 1, 0), (partition.PartitionIndex, partition.LeaderId, partition.LeaderEpoch));
        Assert.Equal([1], partition.ReplicaNodes);
        Assert.Equal([1], partition.IsrNodes);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Topics[1].ErrorCode);
    }

    [Fact]
    public async Task DescribeTopicPartitions_CursorTopicNotRequested_InvalidRequest()
    {
        var response = await DescribePartitionsAsync(100, new DescribeTopicPartitionsRequest.CursorData { TopicName = "c", PartitionIndex = 0 }, "t");

        Assert.Equal((short)ErrorCode.InvalidRequest, Assert.Single(response.Topics).ErrorCode);
    }

    [Fact]
    public async Task DescribeTopicPartitions_CursorMidTopic_ResumesThere()
    {
        var response = await DescribePartitionsAsync(100, new DescribeTopicPartitionsRequest.CursorData { TopicName = "t", PartitionIndex = 1 }, "c", "t");

        var topic = Assert.Single(response.Topics);
        Assert.Equal(("t", 1), (topic.Name, Assert.Single(topic.Partitions).PartitionIndex));
    }

    [Fact]
    public async Task ListPartitionReassignments_OneNode_Empty()
    {
        var response = await CallAsync<ListPartitionReassignmentsResponse>(46, 0, new ListPartitionReassignmentsRequest { Topics = null });

        Assert.Equal(0, response.ErrorCode);
        Assert.Empty(response.Topics);
    }

    private Task<OffsetForLeaderEpochResponse> EpochAsync(string topic, int partition, int currentEpoch, int epoch) =>
        CallAsync<OffsetForLeaderEpochResponse>(23, 4, new OffsetForLeaderEpochRequest
        {
            ReplicaId = -1,
            Topics =
            [
                new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
                {
                    Topic = topic,
                    Partitions = [new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = partition, CurrentLeaderEpoch = currentEpoch, LeaderEpoch = epoch }],
                },
            ],
        });

    [Theory]
    [InlineData(0, 0, 0, 0, 10L)]
    [InlineData(-1, 0, 0, 0, 10L)]
    [InlineData(0, 1, 0, -1, -1L)]
    [InlineData(1, 0, 75, -1, -1L)]
    public async Task OffsetForLeaderEpoch_CurrentEpochRules_KafkaAnswers(int currentEpoch, int epoch, short expectedError, int expectedEpoch, long expectedEnd)
    {
        var response = await EpochAsync("t", 0, currentEpoch, epoch);

        var result = response.Topics[0].Partitions[0];
        Assert.Equal((expectedError, expectedEpoch, expectedEnd), (result.ErrorCode, result.LeaderEpoch, result.EndOffset));
    }

    [Fact]
    public async Task OffsetForLeaderEpoch_UnknownPartition_UnknownTopicOrPartition()
    {
        var response = await EpochAsync("t", 7, 0, 0);

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public void LeaderEpochLookup_OlderEpoch_EndsWhereNextEpochBegins()
    {
        var log = _harness.Components.Services.Replicas.Get("t", 1)!.Log;
        foreach (var epoch in new[] { 0, 0, 2, 2, 5 })
        {
            using var builder = new RecordBatchBuilder();
            builder.Append(1_700_000_000_000, null, [1]);
            log.Append(builder.ToArray(), epoch, 1_700_000_000_000, false);
        }

        Assert.Equal((0, 2L), Cluster.Replication.LeaderEpochLookup.EndOffsetFor(log, 5, 0));
        Assert.Equal((0, 2L), Cluster.Replication.LeaderEpochLookup.EndOffsetFor(log, 5, 1));
        Assert.Equal((2, 4L), Cluster.Replication.LeaderEpochLookup.EndOffsetFor(log, 5, 3));
        Assert.Equal((5, 5L), Cluster.Replication.LeaderEpochLookup.EndOffsetFor(log, 5, 5));
        Assert.Equal((-1, -1L), Cluster.Replication.LeaderEpochLookup.EndOffsetFor(log, 5, 6));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ApiVersions_V3Plus_FinalizedMetadataVersion(short version)
    {
        var response = await CallAsync<ApiVersionsResponse>(18, version, new ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1" });

        var finalized = Assert.Single(response.FinalizedFeatures);
        Assert.Equal(("metadata.version", (short)25, (short)25), (finalized.Name, finalized.MinVersionLevel, finalized.MaxVersionLevel));
        Assert.Equal(_harness.Image.Offset, response.FinalizedFeaturesEpoch);
        Assert.True(response.FinalizedFeaturesEpoch >= 0);
        // kraft.version 0-1 only from v4: v3 leaves out features whose minimum is 0 (KAFKA-17011).
        (string, short, short)[] expected = version >= 4
            ? [("metadata.version", 25, 25), ("kraft.version", 0, 1)]
            : [("metadata.version", 25, 25)];
        Assert.Equal(expected, response.SupportedFeatures.Select(f => (f.Name, f.MinVersion, f.MaxVersion)));
        Assert.Equal(25, _harness.Image.FinalizedFeatures["metadata.version"]);
    }

    [Fact]
    public async Task ApiVersions_V2_NoFeatures()
    {
        var response = await CallAsync<ApiVersionsResponse>(18, 2, new ApiVersionsRequest());

        Assert.Empty(response.FinalizedFeatures);
        Assert.Equal(-1, response.FinalizedFeaturesEpoch);
    }
}
