using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Infrastructure;

namespace EndToEnd.Tests.Broker;

/// <summary>
/// kcat (Debian's, librdkafka) run as a one-shot container next to a broker container: on a user-defined network, or
/// inside the broker's own network namespace. Its image is built once per run from Broker/kcat/Dockerfile. Thread-safe.
/// </summary>
internal static class KcatContainer
{
    public const string Image = "kcat:e2e";

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<Task> Built = new(BuildAsync);

    /// <summary>Produces "key:value" lines to <paramref name="topic"/> through <paramref name="bootstrap"/>, as seen from <paramref name="network"/>.</summary>
    public static async Task ProduceAsync(string network, string bootstrap, string topic, IReadOnlyList<(string Key, string Value)> records)
    {
        var lines = string.Concat(records.Select(r => $"{r.Key}:{r.Value}\n"));
        var result = await RunAsync(network, lines, "-b", bootstrap, "-t", topic, "-P", "-K:", "-z", "lz4");
        Assert.True(result.ExitCode == 0, $"kcat produce through {bootstrap} failed: {result.Describe()}");
    }

    /// <summary>Reads <paramref name="topic"/> from the start to its end through <paramref name="bootstrap"/>, as seen from <paramref name="network"/>.</summary>
    public static async Task<List<(string Key, string Value)>> ConsumeAsync(string network, string bootstrap, string topic)
    {
        var result = await RunAsync(network, null, "-b", bootstrap, "-t", topic, "-C", "-o", "beginning", "-e", "-q", "-f", "%k=%s\\n");
        Assert.True(result.ExitCode == 0, $"kcat consume through {bootstrap} failed: {result.Describe()}");
        return [.. result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('=', 2)).Select(kv => (kv[0], kv[1]))];
    }

    /// <summary>
    /// Runs kcat in a labelled, self-removing container on <paramref name="network"/> (a network name, or
    /// <c>container:&lt;name&gt;</c> for another container's network namespace).
    /// </summary>
    public static async Task<ProcessResult> RunAsync(string network, string? standardInput, params string[] kcatArguments)
    {
        await Built.Value;
        string[] arguments =
        [
            "run", "--rm", "-i", "--network", network,
            .. E2EDocker.Labels.SelectMany(l => new[] { "--label", $"{l.Key}={l.Value}" }),
            Image, .. kcatArguments,
        ];
        return await ProcessRunner.RunAsync("docker", arguments, RunTimeout, standardInput: standardInput);
    }

    private static async Task BuildAsync()
    {
        var context = Path.Combine(RepositoryPaths.Root, "tests", "EndToEnd.Tests", "Broker", "kcat");
        var result = await ProcessRunner.RunAsync("docker", ["build", "-q", "-t", Image, context], TimeSpan.FromMinutes(10));
        Assert.True(result.ExitCode == 0, $"docker build of the kcat image failed: {result.Describe()}");
    }
}
