using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;

namespace Broker.Cluster.Tests.Controller;

/// <summary>The single-node registration (<see cref="TopicController.RegisterBrokerAsync"/>): the epoch it returns is the one
/// its RegisterBrokerRecord carries, which is the record's offset and grows with every registration.</summary>
public sealed class SingleNodeRegistrationTests
{
    private static readonly BrokerEndpoint[] Endpoints = [new("PLAINTEXT", "127.0.0.1", 9092, 0)];

    [Fact]
    public async Task RegisterBrokerAsync_FirstRegistration_ReturnsTheEpochTheImageHolds()
    {
        var store = new InMemoryMetadataStore(MetadataImage.Empty("single-node-cluster-0A", 1));
        var controller = new TopicController(store, new TopicControllerOptions(1, 1, true));

        var epoch = await controller.RegisterBrokerAsync(1, Endpoints, null, CancellationToken.None);

        var broker = store.Image.Brokers[1];
        Assert.Equal(epoch, broker.Epoch);
        Assert.Equal(store.Image.Offset, epoch);
        Assert.False(broker.Fenced);
    }

    [Fact]
    public async Task RegisterBrokerAsync_Restarted_NewEpochAboveTheOldInImageAndResult()
    {
        var store = new InMemoryMetadataStore(MetadataImage.Empty("single-node-cluster-0A", 1));
        var controller = new TopicController(store, new TopicControllerOptions(1, 1, true));
        var first = await controller.RegisterBrokerAsync(1, Endpoints, null, CancellationToken.None);
        await controller.RegisterBrokerAsync(2, Endpoints, null, CancellationToken.None);

        var second = await controller.RegisterBrokerAsync(1, Endpoints, "rack-a", CancellationToken.None);

        Assert.True(second > first);
        Assert.Equal(second, store.Image.Brokers[1].Epoch);
        Assert.Equal("rack-a", store.Image.Brokers[1].Rack);
    }
}
