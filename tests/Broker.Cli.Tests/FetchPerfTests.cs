using Broker.Cli.Perf;
using Confluent.Kafka;

namespace Broker.Cli.Tests;

/// <summary><c>perf fetch</c> against a real in-process broker on a 127.0.0.1 ephemeral port.</summary>
public sealed class FetchPerfTests : IAsyncLifetime
{
    private readonly SingleBroker _broker = new(numPartitions: 1);

    public Task InitializeAsync() => _broker.InitializeAsync();

    public Task DisposeAsync() => _broker.DisposeAsync();

    [Fact]
    public async Task RunCommandAsync_ProducedTopic_CountsEveryRecordUpToHighWatermark()
    {
        BundledLibrdkafka.Load();
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = _broker.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (var i = 0; i < 5000; i++)
            {
                producer.Produce("fetched", new Message<Null, byte[]> { Value = new byte[100] });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await FetchPerf.RunCommandAsync(_broker.BootstrapServers, "fetched", 0, 64 * 1024, output, error, CancellationToken.None);

        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, error.ToString());
        Assert.StartsWith("5000 records (", output.ToString());
    }

    [Fact]
    public async Task RunCommandAsync_UnknownTopic_ErrorAndExitCode1()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await FetchPerf.RunCommandAsync(_broker.BootstrapServers, "missing", 0, 1 << 20, output, error, CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Contains("error code 3", error.ToString());
    }
}
