using Microsoft.Extensions.Logging;

namespace Broker.Cli.Tests;

public sealed class StartCommandTests
{
    [Fact]
    public async Task RunAsync_MissingConfigFile_ExitCode2WithError()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "server.properties");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CliApplication.RunAsync(["start", "--config", path, "--log-level", "none"], output, error);

        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(path, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_InvalidOverride_ExitCode2NamingKey()
    {
        using var error = new StringWriter();

        var code = await StartCommand.RunAsync(null, ["num.partitions=abc"], LogLevel.None, error, CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Equal("error: Invalid value 'abc' for configuration num.partitions: not a number", error.ToString().Trim());
    }

    [Fact]
    public async Task RunAsync_MalformedOverride_ExitCode2()
    {
        using var error = new StringWriter();

        var code = await StartCommand.RunAsync(null, ["no-equals"], LogLevel.None, error, CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Contains("--override", error.ToString(), StringComparison.Ordinal);
    }
}
