using System.Diagnostics;
using System.Text.Json;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>Fetch long polling: a parked fetch is answered by the append, not by fetch.wait.max.ms expiring.</summary>
[Collection(SerialCollection.Name)]
public sealed class LongPollTests
{
    private const int FetchWaitMaxMs = 5000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public LongPollTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Fetch_EmptyPartitionThenAppend_AnsweredOnAppendNotOnMaxWait()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("long-poll");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic);

        var producerConfig = KafkaClients.ProducerConfig(broker.BootstrapServers);
        producerConfig.LingerMs = 0;
        using var producer = KafkaClients.Producer(producerConfig, _output);

        var config = KafkaClients.ConsumerConfig(broker.BootstrapServers);
        config.FetchWaitMaxMs = FetchWaitMaxMs;
        config.FetchMinBytes = 1;
        config.StatisticsIntervalMs = 1000;
        var fetchRequests = -1L;
        var clock = Stopwatch.StartNew();
        var received = new TaskCompletionSource<(TimeSpan At, ConsumeResult<string, string> Record)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var consumerThread = Task.Factory.StartNew(
            () =>
            {
                using var consumer = new ConsumerBuilder<string, string>(config)
                    .SetLogHandler((_, m) => TestOutput.TryWriteLine(_output, $"consumer {m.Level} {m.Facility}: {m.Message}"))
                    .SetStatisticsHandler((_, json) => Interlocked.Exchange(ref fetchRequests, CountFetchRequests(json)))
                    .Build();
                consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
                while (!stop.IsCancellationRequested)
                {
                    var record = consumer.Consume(TimeSpan.FromMilliseconds(20));
                    if (record is not null && !record.IsPartitionEOF)
                    {
                        received.TrySetResult((clock.Elapsed, record));
                    }
                }

                consumer.Close();
            },
            TaskCreationOptions.LongRunning);

        try
        {
            // Let the consumer reach its parked fetch on the empty partition.
            await Task.Delay(TimeSpan.FromSeconds(1));
            var sentAt = clock.Elapsed;
            var delivery = await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = "wake-up" }).WaitAsync(Timeout);
            Assert.Equal(0, delivery.Offset.Value);

            var (receivedAt, receivedRecord) = await received.Task.WaitAsync(Timeout);
            var latency = receivedAt - sentAt;
            _output.WriteLine($"produce -> consume latency {latency.TotalMilliseconds:F0} ms (fetch.wait.max.ms={FetchWaitMaxMs})");
            Assert.Equal("wake-up", receivedRecord.Message.Value);
            Assert.True(latency < TimeSpan.FromSeconds(1.5),
                $"the record produced at {sentAt.TotalMilliseconds:F0} ms reached the consumer only after {latency.TotalMilliseconds:F0} ms: " +
                $"the parked fetch was answered by its {FetchWaitMaxMs} ms max wait, not by the append");

            // Long enough for one more statistics report after the record arrived.
            await Task.Delay(TimeSpan.FromSeconds(1.2));
        }
        finally
        {
            await stop.CancelAsync();
            await consumerThread.WaitAsync(Timeout);
        }

        // A broker that answers empty fetches at once makes librdkafka spin: hundreds of fetches per second.
        var totalFetches = Interlocked.Read(ref fetchRequests);
        _output.WriteLine($"fetch requests: {totalFetches} over {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(totalFetches is >= 0 and <= 10,
            $"librdkafka sent {totalFetches} fetch requests in {clock.Elapsed.TotalSeconds:F1} s with fetch.wait.max.ms={FetchWaitMaxMs}: " +
            "the broker does not hold fetches on an empty partition until data arrives or max wait passes");
    }

    // Sum of req.Fetch over the brokers in a librdkafka statistics document.
    private static long CountFetchRequests(string statistics)
    {
        using var document = JsonDocument.Parse(statistics);
        long total = 0;
        foreach (var brokerEntry in document.RootElement.GetProperty("brokers").EnumerateObject())
        {
            if (brokerEntry.Value.TryGetProperty("req", out var requests) && requests.TryGetProperty("Fetch", out var fetch))
            {
                total += fetch.GetInt64();
            }
        }

        return total;
    }
}
