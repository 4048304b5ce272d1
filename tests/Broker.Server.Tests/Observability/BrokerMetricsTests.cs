using System.Globalization;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;
using Broker.Server.Observability;
using Broker.Server.Tests.Handlers;

namespace Broker.Server.Tests.Observability;

/// <summary>What the Produce and Fetch handlers count, and what a scrape of the registry shows. No sockets.</summary>
public sealed class BrokerMetricsTests : IDisposable
{
    private readonly SteppingTime _time = new();
    private readonly HandlerHarness _harness;

    public BrokerMetricsTests()
    {
        _harness = new HandlerHarness(_time);
        _harness.Components.Services.Topics.CreateTopicsAsync(
            [new NewTopic("m", 2, 1, null, new Dictionary<string, string?>())], false, CancellationToken.None).GetAwaiter().GetResult();
    }

    private BrokerMetrics Metrics => _harness.Components.Services.Metrics;

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Produce_Batches_CountsRecordsBytesAndRequests()
    {
        var first = Batch(10);
        var second = Batch(25);

        await ProduceAsync("m", 0, first);
        await ProduceAsync("m", 1, second);

        var meters = Metrics.Topic("m");
        Assert.Equal(35, meters.MessagesIn.Value);
        Assert.Equal(first.Length + second.Length, meters.BytesIn.Value);
        Assert.Equal(2, meters.ProduceRequests.Value);
        Assert.Equal(0, meters.BytesOut.Value);
    }

    [Fact]
    public async Task Produce_Rejected_CountsRequestButNoRecords()
    {
        var corrupt = Batch(5);
        corrupt[^1] ^= 0xFF; // CRC mismatch: CORRUPT_MESSAGE

        await ProduceAsync("m", 0, corrupt);

        var meters = Metrics.Topic("m");
        Assert.Equal(1, meters.ProduceRequests.Value);
        Assert.Equal(0, meters.MessagesIn.Value);
        Assert.Equal(0, meters.BytesIn.Value);
    }

    [Fact]
    public async Task Fetch_ReturnedRecords_CountsBytesOutOncePerPartition()
    {
        var batch = Batch(20);
        await ProduceAsync("m", 0, batch);
        var fetch = new FetchRequest { MaxWaitMs = 0, MinBytes = 0, MaxBytes = 1 << 20 };
        fetch.Topics.Add(new FetchRequest.FetchTopic
        {
            Topic = "m",
            Partitions =
            [
                new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 },
                new FetchRequest.FetchPartition { Partition = 1, FetchOffset = 0, PartitionMaxBytes = 1 << 20 },
            ],
        });

        await _harness.CallAsync(1, 12, fetch);
        await _harness.CallAsync(1, 12, fetch);

        var meters = Metrics.Topic("m");
        Assert.Equal(2 * batch.Length, meters.BytesOut.Value);
        Assert.Equal(4, meters.FetchRequests.Value);
    }

    [Fact]
    public async Task Scrape_ActiveController_CountsTheImage_AnyOtherNodeZero()
    {
        var store = new InMemoryMetadataStore(MetadataImage.Empty("c", 1));
        var id = Guid.NewGuid();
        await store.CommitAsync(
        [
            new RegisterBrokerRecord { BrokerId = 1, BrokerEpoch = 1, IncarnationId = Guid.NewGuid(), Fenced = false },
            new RegisterBrokerRecord { BrokerId = 2, BrokerEpoch = 2, IncarnationId = Guid.NewGuid(), Fenced = true },
            new TopicRecord { Name = "t", TopicId = id },
            new PartitionRecord { TopicId = id, PartitionId = 0, Replicas = [1], Isr = [1], Leader = 1 },
            new PartitionRecord { TopicId = id, PartitionId = 1, Replicas = [2], Isr = [2], Leader = -1 },
            new PartitionRecord { TopicId = id, PartitionId = 2, Replicas = [2], Isr = [2], Leader = -1 },
        ], CancellationToken.None);
        var active = true;
        Metrics.AttachController(() => active, store);

        var lines = await ScrapeAsync();
        active = false;
        var standby = await ScrapeAsync();

        Assert.Contains("kafka_controller_kafkacontroller_activecontrollercount 1", lines);
        Assert.Contains("kafka_controller_kafkacontroller_globaltopiccount 1", lines);
        Assert.Contains("kafka_controller_kafkacontroller_globalpartitioncount 3", lines);
        Assert.Contains("kafka_controller_kafkacontroller_offlinepartitionscount 2", lines);
        Assert.Contains("kafka_controller_kafkacontroller_activebrokercount 1", lines);
        Assert.Contains("kafka_controller_kafkacontroller_fencedbrokercount 1", lines);
        foreach (var name in new[] { "activecontrollercount", "globaltopiccount", "globalpartitioncount", "offlinepartitionscount", "activebrokercount", "fencedbrokercount" })
        {
            Assert.Contains($"kafka_controller_kafkacontroller_{name} 0", standby);
        }
    }

    [Fact]
    public async Task Scrape_AttachedBroker_GaugesAndLatencyHistogram()
    {
        var batch = Batch(3);
        await ProduceAsync("m", 1, batch);
        Metrics.Attach(_harness.Components.Dispatcher, _harness.Components.Services.Replicas, () => 7);
        var started = Metrics.RequestStarted();
        _time.Advance(TimeSpan.FromMilliseconds(3));
        Metrics.RequestCompleted(0, started);

        var lines = await ScrapeAsync();

        Assert.Contains("kafka_server_replicamanager_partitioncount 2", lines);
        Assert.Contains("kafka_server_replicamanager_leadercount 2", lines);
        Assert.Contains("kafka_server_replicamanager_underreplicatedpartitions 0", lines);
        Assert.Contains("kafka_controller_kafkacontroller_offlinepartitionscount 0", lines);
        Assert.Contains("kafka_server_socketservermetrics_connection_count 7", lines);
        Assert.Contains("kafka_log_log_size{topic=\"m\",partition=\"0\"} 0", lines);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"kafka_log_log_size{{topic=\"m\",partition=\"1\"}} {batch.Length}"), lines);
        Assert.Contains("kafka_server_brokertopicmetrics_messagesin_total{topic=\"m\"} 3", lines);
        Assert.Contains("kafka_network_requestmetrics_totaltimems_count{request=\"Produce\"} 1", lines);
        Assert.Contains("kafka_network_requestmetrics_totaltimems_sum{request=\"Produce\"} 3", lines);
        Assert.Contains("kafka_network_requestmetrics_totaltimems_bucket{request=\"Produce\",le=\"2.5\"} 0", lines);
        Assert.Contains("kafka_network_requestmetrics_totaltimems_bucket{request=\"Produce\",le=\"5\"} 1", lines);
        Assert.Contains("kafka_network_requestmetrics_totaltimems_count{request=\"Fetch\"} 0", lines);
    }

    [Fact]
    public async Task Scrape_TopicDeleted_ItsSeriesRemoved()
    {
        await ProduceAsync("m", 0, Batch(2));
        Metrics.Attach(_harness.Components.Dispatcher, _harness.Components.Services.Replicas, () => 0);
        Assert.Contains("kafka_server_brokertopicmetrics_messagesin_total{topic=\"m\"} 2", await ScrapeAsync());

        await _harness.Components.Services.Topics.DeleteTopicsAsync([("m", Guid.Empty)], CancellationToken.None);
        var lines = await ScrapeAsync();

        Assert.Contains("kafka_server_replicamanager_partitioncount 0", lines);
        Assert.DoesNotContain(lines, l => l.Contains("topic=\"m\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Record_RequestPath_AllocatesNothing()
    {
        Metrics.Attach(_harness.Components.Dispatcher, _harness.Components.Services.Replicas, () => 0);
        Record(); // first use creates the topic's children

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Record();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Record()
        {
            var started = Metrics.RequestStarted();
            var meters = Metrics.Topic("m");
            meters.ProduceRequests.Inc();
            meters.MessagesIn.Inc(10);
            meters.BytesIn.Inc(1000);
            meters.FetchRequests.Inc();
            meters.BytesOut.Inc(1000);
            Metrics.RequestCompleted(0, started);
        }
    }

    private async Task<List<string>> ScrapeAsync()
    {
        var reply = await ObservabilityEndpoints.MetricsReplyAsync("/metrics", Metrics.Registry, CancellationToken.None);
        Assert.Equal(200, reply.Status);
        return [.. System.Text.Encoding.UTF8.GetString(reply.Body.Span).Split('\n')];
    }

    private async Task ProduceAsync(string topic, int partition, byte[] batch)
    {
        var body = await _harness.CallAsync(0, 9, ProduceRequest(topic, partition, batch));
        Assert.NotNull(body);
    }

    private static ProduceRequest ProduceRequest(string topic, int partition, byte[] batch)
    {
        var produce = new ProduceRequest { Acks = 1, TimeoutMs = 1000 };
        produce.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = topic,
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = batch }],
        });
        return produce;
    }

    private byte[] Batch(int records)
    {
        using var builder = new RecordBatchBuilder();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < records; i++)
        {
            builder.Append(now, null, new byte[50]);
        }

        return builder.ToArray();
    }

    /// <summary>Wall-clock dates, but a monotonic timestamp that only <see cref="Advance"/> moves. Thread-safe.</summary>
    private sealed class SteppingTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
