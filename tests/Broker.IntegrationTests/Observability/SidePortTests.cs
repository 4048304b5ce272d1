using System.Net;
using System.Net.Sockets;
using Broker.IntegrationTests.Confluent;
using Broker.IntegrationTests.Infrastructure;
using Broker.Server.Observability;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Observability;

/// <summary>
/// The health and Prometheus side ports of a real broker, read over HTTP after real librdkafka traffic: the scrape
/// must be valid Prometheus text whose counters match what was produced and consumed.
/// </summary>
public sealed class SidePortTests
{
    private const int RecordCount = 500;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public SidePortTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Scrape_AfterProduceAndConsume_CountersMatchTraffic()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("metrics");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        var config = KafkaClients.ProducerConfig(broker.BootstrapServers);
        config.BatchNumMessages = 100; // several produce requests
        using (var producer = KafkaClients.Producer(config, _output))
        {
            var baseTimestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = 0; i < RecordCount; i++)
            {
                producer.Produce(topic, TestRecords.Message(i, baseTimestamp));
            }

            Assert.Equal(0, producer.Flush(Timeout));
        }

        var consumed = KafkaClients.ConsumeFromBeginning(broker.BootstrapServers, _output, topic, RecordCount, Timeout);
        Assert.Equal(RecordCount, consumed.Count);

        // An open client connection for the connection gauge.
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        admin.GetMetadata(Timeout);

        var text = await GetStringAsync(broker.Broker.MetricsEndPoint!, "/metrics");
        TestOutput.TryWriteLine(_output, text);
        var scrape = PrometheusText.Parse(text);
        var topicLabel = ("topic", topic);

        Assert.Equal("counter", scrape.Types["kafka_server_brokertopicmetrics_messagesin_total"]);
        Assert.Equal(RecordCount, scrape.Value("kafka_server_brokertopicmetrics_messagesin_total", topicLabel));
        var bytesIn = scrape.Value("kafka_server_brokertopicmetrics_bytesin_total", topicLabel);
        var bytesOut = scrape.Value("kafka_server_brokertopicmetrics_bytesout_total", topicLabel);
        Assert.True(bytesIn > 0, $"bytes in {bytesIn}");

        // Batches are stored as produced, and every one was fetched at least once.
        Assert.Equal(bytesIn, scrape.Value("kafka_log_log_size", topicLabel, ("partition", "0")));
        Assert.True(bytesOut >= bytesIn, $"bytes out {bytesOut} < bytes in {bytesIn}");

        var produceRequests = scrape.Value("kafka_server_brokertopicmetrics_totalproducerequests_total", topicLabel);
        Assert.True(produceRequests >= RecordCount / config.BatchNumMessages, $"produce requests {produceRequests}");
        Assert.True(scrape.Value("kafka_server_brokertopicmetrics_totalfetchrequests_total", topicLabel) >= 1);

        // Every produce request was answered, so each was timed.
        Assert.Equal("histogram", scrape.Types["kafka_network_requestmetrics_totaltimems"]);
        var produceTimed = scrape.Value("kafka_network_requestmetrics_totaltimems_count", ("request", "Produce"));
        Assert.True(produceTimed >= produceRequests, $"produce requests timed {produceTimed} < {produceRequests}");
        Assert.Equal(produceTimed, scrape.Value("kafka_network_requestmetrics_totaltimems_bucket", ("request", "Produce"), ("le", "+Inf")));
        Assert.True(scrape.Value("kafka_network_requestmetrics_totaltimems_count", ("request", "Fetch")) >= 1);
        Assert.True(scrape.Value("kafka_network_requestmetrics_totaltimems_count", ("request", "Metadata")) >= 1);

        // The consumer's group id made it look up its coordinator, which creates __consumer_offsets.
        var hosted = broker.Broker.Metadata.TopicsByName.Values.Sum(t => t.Partitions.Length);
        Assert.Equal(hosted, scrape.Value("kafka_server_replicamanager_partitioncount"));
        Assert.Equal(hosted, scrape.Value("kafka_server_replicamanager_leadercount"));
        Assert.Equal(0, scrape.Value("kafka_server_replicamanager_underreplicatedpartitions"));
        Assert.Equal(0, scrape.Value("kafka_controller_kafkacontroller_offlinepartitionscount"));

        // A single node is its own quorum's leader: the active controller, describing the whole cluster.
        Assert.Equal(1, scrape.Value("kafka_controller_kafkacontroller_activecontrollercount"));
        Assert.Equal(broker.Broker.Metadata.TopicsByName.Count, scrape.Value("kafka_controller_kafkacontroller_globaltopiccount"));
        Assert.Equal(hosted, scrape.Value("kafka_controller_kafkacontroller_globalpartitioncount"));
        Assert.Equal(1, scrape.Value("kafka_controller_kafkacontroller_activebrokercount"));
        Assert.Equal(0, scrape.Value("kafka_controller_kafkacontroller_fencedbrokercount"));

        // One full run on a loaded machine scraped 0 right after GetMetadata returned (librdkafka manages its broker
        // connections on its own threads), so scrape again, keeping the admin client busy, until its connection shows.
        var connections = scrape.Value("kafka_server_socketservermetrics_connection_count");
        var deadline = DateTime.UtcNow + Timeout;
        while (connections < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            admin.GetMetadata(Timeout);
            connections = PrometheusText.Parse(await GetStringAsync(broker.Broker.MetricsEndPoint!, "/metrics")).Value("kafka_server_socketservermetrics_connection_count");
        }

        Assert.True(connections >= 1, $"connection count {connections} with the admin client connected");
    }

    [Fact]
    public async Task Health_RunningBroker_ReadyAndStateThree()
    {
        var broker = await BrokerFixture.StartAsync(_output);
        IPEndPoint health;
        try
        {
            health = broker.Broker.HealthEndPoint!;
            Assert.Equal(BrokerState.Running, broker.Broker.State);

            using var client = new HttpClient { Timeout = Timeout };
            using var ready = await client.GetAsync(Url(health, "/v1/ready"));
            Assert.Equal(HttpStatusCode.NoContent, ready.StatusCode);

            using var state = await client.GetAsync(Url(health, "/v1/broker-state"));
            Assert.Equal(HttpStatusCode.OK, state.StatusCode);
            Assert.Equal("application/json", state.Content.Headers.ContentType?.MediaType);
            Assert.Equal("{\"brokerState\":3}", await state.Content.ReadAsStringAsync());

            using var unknown = await client.GetAsync(Url(health, "/v1/nothing"));
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
        finally
        {
            await broker.DisposeAsync();
        }

        Assert.Equal(BrokerState.NotRunning, broker.Broker.State);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAnyAsync<SocketException>(() => socket.ConnectAsync(health));
    }

    [Fact]
    public async Task Start_SidePortsDisabled_NoHttpEndpoints()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("health.port", "-1"), ("metrics.port", "-1"));

        Assert.Null(broker.Broker.HealthEndPoint);
        Assert.Null(broker.Broker.MetricsEndPoint);
        Assert.Equal(BrokerState.Running, broker.Broker.State);
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        Assert.Contains(admin.GetMetadata(Timeout).Brokers, b => b.BrokerId == 1);
    }

    private static Uri Url(IPEndPoint endPoint, string path) => new($"http://127.0.0.1:{endPoint.Port}{path}");

    [Fact]
    public async Task Metrics_GroupCommittedBehindHighWatermark_ConsumerLagGauge()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("lag");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);
        using (var producer = KafkaClients.Producer(KafkaClients.ProducerConfig(broker.BootstrapServers), _output))
        {
            var baseTimestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = 0; i < 10; i++)
            {
                producer.Produce(topic, TestRecords.Message(i, baseTimestamp));
            }

            Assert.Equal(0, producer.Flush(Timeout));
        }

        var group = KafkaClients.UniqueTopic("lag-g");
        using (var consumer = KafkaClients.Consumer(KafkaClients.GroupConsumerConfig(broker.BootstrapServers, group), _output))
        {
            consumer.Commit([new global::Confluent.Kafka.TopicPartitionOffset(topic, 0, 4)]);
        }

        var scrape = PrometheusText.Parse(await GetStringAsync(broker.Broker.MetricsEndPoint!, "/metrics"));

        Assert.Equal(6, scrape.Value("kafka_consumergroup_lag", ("group", group), ("topic", topic), ("partition", "0")));
    }

    private static async Task<string> GetStringAsync(IPEndPoint endPoint, string path)
    {
        using var client = new HttpClient { Timeout = Timeout };
        using var response = await client.GetAsync(Url(endPoint, path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }
}
