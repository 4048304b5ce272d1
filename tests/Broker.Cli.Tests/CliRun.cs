namespace Broker.Cli.Tests;

/// <summary>Runs the CLI in-process with captured output, as a shell would run <c>kafka-broker</c>. Thread-safe.</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApplication.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
