using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>What a finished child process left behind.</summary>
internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public string Describe() =>
        $"exit code {ExitCode}{Environment.NewLine}--- stdout ---{Environment.NewLine}{StandardOutput}{Environment.NewLine}--- stderr ---{Environment.NewLine}{StandardError}";
}

/// <summary>
/// Runs a client tool to completion with an argument list (no shell), optional stdin, and a hard timeout after
/// which the process is killed and the test fails with whatever it printed. Thread-safe.
/// </summary>
internal static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        ITestOutputHelper? output = null,
        string? standardInput = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (name, value) in environment)
            {
                if (value is null)
                {
                    startInfo.Environment.Remove(name);
                }
                else
                {
                    startInfo.Environment[name] = value;
                }
            }
        }

        var commandLine = $"{fileName} {string.Join(' ', startInfo.ArgumentList.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a))}";
        TestOutput.TryWriteLine(output, $"$ {commandLine}");
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (standardInput is not null)
            {
                // UTF-8 without BOM: the tools read raw bytes.
                var bytes = new UTF8Encoding(false).GetBytes(standardInput);
                await process.StandardInput.BaseStream.WriteAsync(bytes);
                await process.StandardInput.BaseStream.FlushAsync();
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The tool exited without reading all input; its exit code and stderr tell why.
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            var partial = new ProcessResult(process.ExitCode, await stdout, await stderr);
            Assert.Fail($"{commandLine} did not finish within {timeout.TotalSeconds:F0} s and was killed.{Environment.NewLine}{partial.Describe()}");
        }

        var result = new ProcessResult(process.ExitCode, await stdout, await stderr);
        if (result.StandardError.Length > 0)
        {
            TestOutput.TryWriteLine(output, $"stderr of {Path.GetFileName(fileName)}:{Environment.NewLine}{result.StandardError}");
        }

        return result;
    }
}
