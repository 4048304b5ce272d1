using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>ElectLeaders through librdkafka's AdminClient: per-partition results of a preferred and an unclean election.</summary>
public sealed class ElectLeadersTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public ElectLeadersTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData(ElectionType.Preferred)]
    [InlineData(ElectionType.Unclean)]
    public async Task ElectLeadersAsync_LedPartitions_ElectionNotNeeded_UnknownPartitionReported(ElectionType type)
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("elect");
        using var admin = KafkaClients.Admin(broker.BootstrapServers, _output);
        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = 2, ReplicationFactor = 1 }],
            new CreateTopicsOptions { RequestTimeout = Timeout, OperationTimeout = Timeout }).WaitAsync(Timeout);

        var failure = await Assert.ThrowsAsync<ElectLeadersException>(() => admin.ElectLeadersAsync(
            type,
            [new TopicPartition(topic, 0), new TopicPartition(topic, 1), new TopicPartition(topic, 7)],
            new ElectLeadersOptions { RequestTimeout = Timeout, OperationTimeout = Timeout }).WaitAsync(Timeout));

        var byPartition = failure.Results.TopicPartitions.ToDictionary(p => p.Partition.Value, p => p.Error.Code);
        Assert.Equal(ErrorCode.ElectionNotNeeded, byPartition[0]);
        Assert.Equal(ErrorCode.ElectionNotNeeded, byPartition[1]);
        Assert.Equal(ErrorCode.UnknownTopicOrPart, byPartition[7]);
    }
}
