using EndToEnd.Tests.Infrastructure;

namespace EndToEnd.Tests.Broker;

/// <summary>One broker container of the image built from Dockerfile.broker, driven through published 127.0.0.1 ports.</summary>
public sealed class BrokerImageTests
{
    private static readonly (string, string)[] Records = [("k1", "one"), ("k2", "two"), ("k3", "three")];

    [Fact]
    public async Task PublishedPort_ConfluentClient_ProducesAndConsumes()
    {
        await E2EDocker.EnsureBrokerImageAsync();
        var builder = new BrokerContainerBuilder("produce-consume");
        builder.WithHostListener();
        await using var broker = builder.Build();
        await broker.StartAndWaitReadyAsync();

        await KafkaClients.ProduceAsync(broker.HostBootstrap, "e2e", Records);

        Assert.Equal(Records, KafkaClients.ConsumeFromStart(broker.HostBootstrap, "e2e", Records.Length));
    }
}
