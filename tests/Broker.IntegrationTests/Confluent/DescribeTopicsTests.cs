using System.Collections.Concurrent;
using Broker.IntegrationTests.Infrastructure;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Confluent;

/// <summary>DescribeTopicsAsync through librdkafka's AdminClient, watching which request it sends.</summary>
public sealed class DescribeTopicsTests
{
    private readonly ITestOutputHelper _output;

    public DescribeTopicsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task DescribeTopicsAsync_TopicWithPartitions_IdsLeadersAndMissingTopicError()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var topic = KafkaClients.UniqueTopic("describe");
        await KafkaClients.CreateTopicAsync(broker.BootstrapServers, _output, topic, 3);
        var protocolLines = new ConcurrentQueue<string>();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers, Debug = "protocol" })
            .SetLogHandler((_, m) => protocolLines.Enqueue(m.Message))
            .Build();

        var described = await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([topic]), new DescribeTopicsOptions { IncludeAuthorizedOperations = true });

        var description = Assert.Single(described.TopicDescriptions);
        Assert.Equal(topic, description.Name);
        Assert.False(description.Error.IsError);
        Assert.NotEqual(new Uuid(0, 0), description.TopicId);
        Assert.Equal([0, 1, 2], description.Partitions.Select(p => p.Partition));
        Assert.All(description.Partitions, p => Assert.Equal(1, p.Leader.Id));
        Assert.Contains(AclOperation.Read, description.AuthorizedOperations!);

        var error = await Assert.ThrowsAsync<DescribeTopicsException>(() =>
            admin.DescribeTopicsAsync(TopicCollection.OfTopicNames(["no-such-topic"]), new DescribeTopicsOptions()));
        Assert.Equal(ErrorCode.UnknownTopicOrPart, Assert.Single(error.Results.TopicDescriptions).Error.Code);

        // Which API librdkafka used for DescribeTopics (reported, not asserted: it is the client's choice).
        var usedDescribeTopicPartitions = protocolLines.Any(l => l.Contains("DescribeTopicPartitions", StringComparison.Ordinal));
        var usedMetadata = protocolLines.Any(l => l.Contains("MetadataRequest", StringComparison.Ordinal));
        _output.WriteLine($"librdkafka sent DescribeTopicPartitions: {usedDescribeTopicPartitions}, MetadataRequest: {usedMetadata}, {protocolLines.Count} protocol lines");
    }
}
