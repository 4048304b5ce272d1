using System.CommandLine;
using Broker.Cli.Perf;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Broker.Cli.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void ProducePerf_MinimalArguments_Defaults()
    {
        var command = new ProducePerfCommand();

        var result = command.Command.Parse(["--topic", "t", "--num-records", "1000"]);
        var options = command.Bind(result);

        Assert.Empty(result.Errors);
        Assert.Equal("127.0.0.1:9092", options.BootstrapServers);
        Assert.Equal("t", options.Topic);
        Assert.Equal(1000, options.NumRecords);
        Assert.Equal(100, options.RecordSize);
        Assert.Equal("1", options.Acks);
        Assert.Equal(0, options.LingerMs);
        Assert.Equal("none", options.Compression);
        Assert.Null(options.BatchSize);
        Assert.Equal(-1, options.Throughput);
        Assert.Empty(options.ProducerProperties);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ReportInterval);
    }

    [Fact]
    public void ProducePerf_AllArguments_BoundAndMappedToClientConfig()
    {
        var command = new ProducePerfCommand();

        var result = command.Command.Parse([
            "--bootstrap-server", "h:1", "--topic", "t", "--num-records", "5", "--record-size", "10", "--acks", "all",
            "--linger-ms", "5", "--compression", "zstd", "--batch-size", "65536", "--throughput", "100",
            "--producer-property", "client.id=perf", "--producer-property", "linger.ms=7", "--report-interval-ms", "1000",
        ]);
        var options = command.Bind(result);
        var config = options.ToProducerConfig();

        Assert.Empty(result.Errors);
        Assert.Equal("h:1", config.BootstrapServers);
        Assert.Equal(Acks.All, config.Acks);
        Assert.Equal(CompressionType.Zstd, config.CompressionType);
        Assert.Equal(65536, config.BatchSize);
        Assert.Equal("perf", config.ClientId);
        Assert.Equal(7, config.LingerMs); // --producer-property wins over --linger-ms
        Assert.Equal(100, options.Throughput);
        Assert.Equal(TimeSpan.FromSeconds(1), options.ReportInterval);
    }

    [Theory]
    [InlineData("all", Acks.All)]
    [InlineData("-1", Acks.All)]
    [InlineData("1", Acks.Leader)]
    [InlineData("0", Acks.None)]
    public void ProducePerf_Acks_Mapped(string acks, Acks expected)
    {
        var command = new ProducePerfCommand();

        var options = command.Bind(command.Command.Parse(["--topic", "t", "--num-records", "1", "--acks", acks]));

        Assert.Equal(expected, options.ToProducerConfig().Acks);
    }

    [Theory]
    [InlineData("--compression", "brotli")]
    [InlineData("--acks", "2")]
    [InlineData("--num-records", "0")]
    [InlineData("--num-records", "many")]
    [InlineData("--throughput", "0")]
    [InlineData("--record-size", "-1")]
    [InlineData("--producer-property", "novalue")]
    [InlineData("--report-interval-ms", "0")]
    public void ProducePerf_InvalidValue_ParseError(string option, string value)
    {
        var command = new ProducePerfCommand();
        string[] args = option == "--num-records" ? ["--topic", "t", option, value] : ["--topic", "t", "--num-records", "1", option, value];

        Assert.NotEmpty(command.Command.Parse(args).Errors);
    }

    [Fact]
    public void ProducePerf_MissingRequired_ParseError()
    {
        Assert.NotEmpty(new ProducePerfCommand().Command.Parse(["--num-records", "1"]).Errors);
        Assert.NotEmpty(new ProducePerfCommand().Command.Parse(["--topic", "t"]).Errors);
    }

    [Fact]
    public void ConsumePerf_Arguments_BoundAndMappedToClientConfig()
    {
        var command = new ConsumePerfCommand();

        var result = command.Command.Parse([
            "--topic", "t", "--messages", "50", "--fetch-max-wait-ms", "100", "--timeout-ms", "2000",
            "--consumer-property", "group.id=g", "--consumer-property", "fetch.min.bytes=1000",
        ]);
        var options = command.Bind(result);
        var config = options.ToConsumerConfig();

        Assert.Empty(result.Errors);
        Assert.Equal(50, options.Messages);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Timeout);
        Assert.Equal(100, config.FetchWaitMaxMs);
        Assert.Equal("g", config.GroupId);
        Assert.Equal(1000, config.FetchMinBytes);
        Assert.False(config.EnableAutoCommit);
        Assert.Equal("127.0.0.1:9092", config.BootstrapServers);
    }

    [Fact]
    public void ConsumePerf_Defaults_AssignOnlyGroupAndNoCommits()
    {
        var command = new ConsumePerfCommand();

        var config = command.Bind(command.Command.Parse(["--topic", "t", "--messages", "1"])).ToConsumerConfig();

        Assert.Equal(ConsumerPerfOptions.DefaultGroupId, config.GroupId);
        Assert.False(config.EnableAutoCommit);
        Assert.Equal(500, config.FetchWaitMaxMs);
    }

    [Fact]
    public void RootCommand_PerfAndStart_Resolve()
    {
        var root = CliApplication.BuildRootCommand();

        Assert.Empty(root.Parse(["perf", "produce", "--topic", "t", "--num-records", "1"]).Errors);
        Assert.Empty(root.Parse(["perf", "consume", "--topic", "t", "--messages", "1"]).Errors);
        Assert.Empty(root.Parse(["start", "--config", "x", "--override", "a=b", "--override", "c=d", "--log-level", "warn"]).Errors);
        Assert.NotEmpty(root.Parse(["start", "--log-level", "loud"]).Errors);
    }

    [Theory]
    [InlineData("info", LogLevel.Information)]
    [InlineData("Information", LogLevel.Information)]
    [InlineData("WARN", LogLevel.Warning)]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("fatal", LogLevel.Critical)]
    [InlineData("off", LogLevel.None)]
    public void TryParseLevel_KnownNames_Parsed(string text, LogLevel expected)
    {
        Assert.True(ConsoleLogging.TryParseLevel(text, out var level));
        Assert.Equal(expected, level);
    }

    [Fact]
    public void KeyValueArguments_Items_SplitAtFirstEquals()
    {
        var parsed = KeyValueArguments.Parse(["a=1", "b=x=y", "c=", "a=2"], "--opt");

        Assert.Equal(new Dictionary<string, string> { ["a"] = "2", ["b"] = "x=y", ["c"] = string.Empty }, parsed);
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=value")]
    public void KeyValueArguments_Malformed_Throws(string item)
    {
        var e = Assert.Throws<FormatException>(() => KeyValueArguments.Parse([item], "--opt"));

        Assert.Contains("--opt", e.Message, StringComparison.Ordinal);
    }
}
