using System.Globalization;
using System.Net;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>
/// librdkafka's idempotent producer against the broker through a proxy that swallows a Produce response and cuts the
/// connection: the client retries a batch the broker already wrote, and the broker must store it once, also when
/// the broker is SIGKILLed and restarted between the attempt and the retry.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class IdempotentProducerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _output;

    public IdempotentProducerTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task ResponseLost_ClientRetries_EveryRecordStoredExactlyOnce()
    {
        const int count = 200;
        await using var proxy = KafkaProxy.Start();
        var port = BrokerProcess.FreePort();
        await using var broker = await BrokerFixture.StartAsync(_output,
            ("listeners", $"PLAINTEXT://127.0.0.1:{port}"),
            ("advertised.listeners", $"PLAINTEXT://127.0.0.1:{proxy.Port}"));
        proxy.Target = new IPEndPoint(IPAddress.Loopback, port);
        var topic = KafkaClients.UniqueTopic("idempotent");
        await KafkaClients.CreateTopicAsync(DirectBootstrap(port), _output, topic);

        using var producer = KafkaClients.Producer(IdempotentConfig(proxy), _output);
        await ProduceAsync(producer, topic, 0, 1); // the producer id is in place before anything is dropped
        proxy.DropNextProduceResponses(2);
        var reports = await ProduceAsync(producer, topic, 1, count - 1);

        Assert.True(proxy.Dropped.IsCompleted, "the proxy never swallowed a Produce response");
        AssertRetried(proxy);
        Assert.All(reports, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
        AssertStoredOnce(DirectBootstrap(port), topic, count);
        Assert.Empty(broker.LoggedErrors);
    }

    [Fact]
    public async Task ResponseLost_BrokerKilledAndRestartedBeforeRetry_RetryDeduplicatedFromRecoveredState()
    {
        const int count = 100;
        using var logDir = new TempDirectory("broker-idempotent-");
        await using var proxy = KafkaProxy.Start();
        var port = BrokerProcess.FreePort();
        var advertised = ("advertised.listeners", $"PLAINTEXT://127.0.0.1:{proxy.Port}");
        proxy.Target = new IPEndPoint(IPAddress.Loopback, port);
        var broker = BrokerProcess.Start(logDir.Path, port, _output, advertised);
        try
        {
            await broker.WaitUntilReadyAsync(_output, Timeout);
            var topic = KafkaClients.UniqueTopic("idempotent-crash");
            await KafkaClients.CreateTopicAsync(DirectBootstrap(port), _output, topic);
            using var producer = KafkaClients.Producer(IdempotentConfig(proxy), _output);
            await ProduceAsync(producer, topic, 0, 1);

            // The next Produce response is swallowed and the proxy then refuses connections, so the client cannot
            // retry until the broker has crashed and come back.
            proxy.RefuseAfterDrop = true;
            proxy.DropNextProduceResponses(1);
            var pending = ProduceAsync(producer, topic, 1, count - 1);
            await proxy.Dropped.WaitAsync(Timeout);
            await broker.KillAsync(Timeout);
            await broker.DisposeAsync();

            broker = BrokerProcess.Start(logDir.Path, port, _output, advertised);
            await broker.WaitUntilReadyAsync(_output, Timeout);
            proxy.Target = new IPEndPoint(IPAddress.Loopback, port);
            var reports = await pending.WaitAsync(Timeout);

            AssertRetried(proxy);
            Assert.All(reports, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
            AssertStoredOnce(DirectBootstrap(port), topic, count);
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    private static string DirectBootstrap(int port) => $"127.0.0.1:{port}";

    private static ProducerConfig IdempotentConfig(KafkaProxy proxy)
    {
        var config = KafkaClients.ProducerConfig($"127.0.0.1:{proxy.Port}");
        config.EnableIdempotence = true;
        config.MessageTimeoutMs = 120_000;
        config.RetryBackoffMs = 50;
        config.ReconnectBackoffMs = 50;
        config.ReconnectBackoffMaxMs = 500;
        config.BatchNumMessages = 20; // several batches in flight, so the lost one is not the only one
        return config;
    }

    private static async Task<DeliveryResult<string, string>[]> ProduceAsync(IProducer<string, string> producer, string topic, int first, int count)
    {
        var deliveries = new Task<DeliveryResult<string, string>>[count];
        for (var i = 0; i < count; i++)
        {
            var n = (first + i).ToString(CultureInfo.InvariantCulture);
            deliveries[i] = producer.ProduceAsync(topic, new Message<string, string> { Key = n, Value = "value-" + n });
        }

        return await Task.WhenAll(deliveries).WaitAsync(Timeout);
    }

    /// <summary>Every batch whose response was swallowed was sent again with the same producer id, epoch and sequence.</summary>
    private void AssertRetried(KafkaProxy proxy)
    {
        var batches = proxy.Batches.ToList();
        var dropped = batches.Where(b => b.ResponseDropped).ToList();
        Assert.NotEmpty(dropped);
        foreach (var lost in dropped)
        {
            _output.WriteLine($"swallowed response for {lost}");
            Assert.True(lost.ProducerId >= 0, "the producer was not idempotent");
            Assert.Contains(batches, b => b.Connection != lost.Connection && b.ProducerId == lost.ProducerId
                && b.Epoch == lost.Epoch && b.BaseSequence == lost.BaseSequence && b.Partition == lost.Partition);
        }
    }

    private void AssertStoredOnce(string bootstrap, string topic, int count)
    {
        using (var consumer = KafkaClients.Consumer(KafkaClients.ConsumerConfig(bootstrap), _output))
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
            Assert.Equal(0, watermarks.Low.Value);
            Assert.Equal(count, watermarks.High.Value);
        }

        var records = KafkaClients.ConsumeFromBeginning(bootstrap, _output, topic, count, Timeout);
        Assert.Equal(count, records.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => "value-" + i.ToString(CultureInfo.InvariantCulture)), records.Select(r => r.Message.Value));
    }
}
