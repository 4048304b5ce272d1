using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Broker.Protocol.Messages;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>Two of three combined nodes SIGKILLed: no ISR majority, no metadata quorum; then both restarted. Not thread-safe: one instance per test.</summary>
public sealed class QuorumLossTests
{
    private const string Topic = "quorum-loss";
    private const string Probe = "quorum-loss-probe";
    private const int Partitions = 3;
    private readonly ITestOutputHelper _output;

    public QuorumLossTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task KillTwoOfThree_AcksAllRefusedMetadataFrozenReadsServed_RestartRecoversEverything()
    {
        await using var cluster = await ProcessCluster.StartAsync(_output);
        await cluster.CreateTopicAsync(Topic, Partitions);
        await using var producer = new SequenceProducer(cluster.BootstrapServers, Topic, Partitions, _output);
        producer.Start();
        for (var partition = 0; partition < Partitions; partition++)
        {
            await producer.WaitForAcknowledgementsAsync(cluster, partition, 50, "before the kills");
        }

        await producer.StopAsync();
        var survivor = cluster.Partition(Topic, 0).Leader;
        var others = cluster.Nodes.Where(n => n != survivor).ToArray();
        // A single-partition topic the survivor leads, so the refused writes land nowhere the checker reads.
        await cluster.Admin.CreateTopicsAsync([new TopicSpecification { Name = Probe, NumPartitions = 1, ReplicationFactor = -1, ReplicasAssignments = new() { [0] = [survivor, .. others] } }]);
        await cluster.WaitForFullIsrAsync(Probe, 1);
        await cluster.WaitForLeaderAsync(Probe, 0, l => l == survivor, $"the survivor {survivor} as leader");

        // Connected and holding a producer id before the kills: InitProducerId needs the controller quorum.
        var probeConfig = KafkaClients.ProducerConfig(cluster.Bootstrap(survivor));
        probeConfig.MessageTimeoutMs = 10_000;
        using var probe = KafkaClients.Producer(probeConfig, _output);
        var before = await ProduceAsync(probe);
        Assert.True(before is null, $"acks=all produce with every replica alive failed: {before}");
        foreach (var node in others)
        {
            await cluster.KillAsync(node);
        }

        // Without a controller quorum the leader cannot commit the ISR shrink it proposes once the dead followers lag
        // past replica.lag.time.max.ms, so the committed ISR stays full and the broker never gets to refuse a write with
        // NOT_ENOUGH_REPLICAS (Kafka behaves alike: AlterPartition needs the active controller). The write is appended
        // and waits for a high watermark that cannot move: REQUEST_TIMED_OUT, which librdkafka retries until the
        // message times out. Either way nothing is acknowledged.
        var refused = await ProduceAsync(probe);
        Assert.True(refused?.Code == ErrorCode.Local_MsgTimedOut, $"acks=all with two of three replicas dead: expected librdkafka's message timeout, got {refused?.ToString() ?? "an acknowledgement"}");
        var raw = await cluster.ProduceRawAsync(survivor, Probe, 0, "raw-probe");
        Assert.True(raw == ErrorCode.RequestTimedOut, $"a raw acks=-1 Produce to the survivor {survivor}: expected REQUEST_TIMED_OUT, got {raw}");

        // Metadata is frozen: the ISR still names the dead replicas, long after replica.lag.time.max.ms.
        var isr = cluster.Partition(Probe, 0).InSyncReplicas;
        Assert.True(isr.Length == ProcessCluster.ReplicationFactor, $"the ISR of {Probe}-0 changed without a quorum: [{string.Join(',', isr)}]");
        await cluster.WaitUntilAsync(
            async () => (await cluster.SendAsync<MetadataResponse>(survivor, new MetadataRequest { Topics = [] }, 12)).ControllerId == -1,
            $"the survivor {survivor} reports no active controller in Metadata");
        var create = await cluster.SendAsync<CreateTopicsResponse>(survivor, new CreateTopicsRequest
        {
            TimeoutMs = 5000,
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = "quorum-loss-new", NumPartitions = 1, ReplicationFactor = 1 }],
        }, 7);
        // The survivor forwards the creation and finds no active controller within the request timeout: as Kafka's
        // forwarding manager, it answers REQUEST_TIMED_OUT (retriable), and nothing is created.
        Assert.Equal(ErrorCode.RequestTimedOut, (ErrorCode)Assert.Single(create.Topics).ErrorCode);

        // Reads keep working where the survivor leads: everything acknowledged before the kills is there, once, in order.
        await LogChecker.VerifyAsync(cluster, Topic, [0], producer, _output);

        foreach (var node in others)
        {
            cluster.Start(node);
        }

        await cluster.WaitForBrokersAsync(cluster.BrokerNodes);
        await cluster.WaitForFullIsrAsync(Topic, Partitions);
        await cluster.WaitForFullIsrAsync(Probe, 1);
        var afterConfig = KafkaClients.ProducerConfig(cluster.BootstrapServers);
        afterConfig.MessageTimeoutMs = 60_000;
        using var after = KafkaClients.Producer(afterConfig, _output);
        var accepted = await ProduceAsync(after);
        Assert.True(accepted is null, $"acks=all produce after the restart failed: {accepted}");
        await cluster.CreateTopicEventuallyAsync("quorum-loss-after", 1);
        await LogChecker.VerifyAsync(cluster, Topic, Partitions, producer, _output);
    }

    /// <summary>One acks=all idempotent record to the probe topic: null when acknowledged, else the delivery error.</summary>
    private static async Task<Error?> ProduceAsync(IProducer<string, string> producer)
    {
        try
        {
            await producer.ProduceAsync(new TopicPartition(Probe, 0), new Message<string, string> { Value = "probe" });
            return null;
        }
        catch (ProduceException<string, string> e)
        {
            return e.Error;
        }
    }
}
