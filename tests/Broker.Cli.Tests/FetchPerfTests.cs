using Broker.Cli.Perf;
using Broker.Server;
using Broker.Server.Configuration;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cli.Tests;

/// <summary><c>perf fetch</c> against a real in-process broker on a 127.0.0.1 ephemeral port.</summary>
public sealed class FetchPerfTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fetch-perf-").FullName;
    private RunningBroker? _broker;

    public async Task InitializeAsync()
    {
        var config = BrokerConfig.Load(null, new Dictionary<string, string>(), new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["advertised.listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = _dir,
            ["health.port"] = "-1",
            ["metrics.port"] = "-1",
        }, null);
        _broker = await BrokerHost.StartAsync(config, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task RunCommandAsync_ProducedTopic_CountsEveryRecordUpToHighWatermark()
    {
        BundledLibrdkafka.Load();
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = _broker!.BootstrapServers, LingerMs = 5 }).Build())
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

        var exit = await FetchPerf.RunCommandAsync(_broker!.BootstrapServers, "missing", 0, 1 << 20, output, error, CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Contains("error code 3", error.ToString());
    }
}
