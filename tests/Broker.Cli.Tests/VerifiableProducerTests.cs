using System.Text.Json;
using Broker.Cli.Perf;

namespace Broker.Cli.Tests;

/// <summary><c>verifiable-producer</c> against a real in-process broker on a 127.0.0.1 ephemeral port.</summary>
public sealed class VerifiableProducerTests : IAsyncLifetime
{
    private readonly SingleBroker _broker = new(numPartitions: 3);

    public Task InitializeAsync() => _broker.InitializeAsync();

    public Task DisposeAsync() => _broker.DisposeAsync();

    [Fact]
    public async Task RunAsync_MaxMessages_PrintsEveryAcknowledgementWithItsPartitionAndOffset()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await CliApplication.RunAsync(
            ["verifiable-producer", "--bootstrap-server", _broker.BootstrapServers, "--topic", "verified", "--partitions", "3", "--max-messages", "300"],
            output, error);

        Assert.Equal(0, exit);
        var events = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal("startup_complete", events[0].GetProperty("name").GetString());
        Assert.Equal("shutdown_complete", events[^1].GetProperty("name").GetString());
        var toolData = Assert.Single(events, e => e.GetProperty("name").GetString() == "tool_data");
        Assert.Equal(300, toolData.GetProperty("sent").GetInt64());
        Assert.Equal(300, toolData.GetProperty("acked").GetInt64());
        var successes = events.Where(e => e.GetProperty("name").GetString() == "producer_send_success").ToList();
        Assert.Equal(300, successes.Count);
        var expectedOffset = new long[3];
        foreach (var success in successes.OrderBy(s => long.Parse(s.GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture)))
        {
            var value = long.Parse(success.GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            var partition = success.GetProperty("partition").GetInt32();
            Assert.Equal("verified", success.GetProperty("topic").GetString());
            Assert.Equal(value % 3, partition);
            Assert.Equal(expectedOffset[partition]++, success.GetProperty("offset").GetInt64());
        }
    }

    [Fact]
    public async Task Run_Cancelled_StopsSendingAndReportsWhatWasSent()
    {
        // Before any client exists in this process, as the command's entry point does.
        BundledLibrdkafka.Load();
        using var text = new StringWriter();
        var output = TextWriter.Synchronized(text);
        using var cts = new CancellationTokenSource();
        var options = new VerifiableProducerOptions(_broker.BootstrapServers, "unbounded", 1, -1, 200, new Dictionary<string, string>());
        var producer = new VerifiableProducer(options, output, TimeProvider.System);

        var run = Task.Run(() => producer.Run(cts.Token));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Read().Contains("producer_send_success", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await cts.CancelAsync();
        var failed = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, failed);
        var lines = Read().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var toolData = JsonDocument.Parse(Assert.Single(lines, l => l.Contains("\"tool_data\"", StringComparison.Ordinal))).RootElement;
        var sent = toolData.GetProperty("sent").GetInt64();
        Assert.True(sent > 0);
        Assert.Equal(sent, toolData.GetProperty("acked").GetInt64());
        Assert.Equal(sent, lines.Count(l => l.Contains("\"producer_send_success\"", StringComparison.Ordinal)));

        // The synchronized writer locks itself around every write; reading under the same lock sees whole lines.
        string Read()
        {
            lock (output)
            {
                return text.ToString();
            }
        }
    }
}
