using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Infrastructure;

namespace EndToEnd.Tests.Broker;

/// <summary>
/// Runs a shell script as root in a throw-away container of the broker image with a volume mounted at /d: to prepare a
/// volume (another owner, other files) or to look at it without starting a broker. Stateless; thread-safe.
/// </summary>
internal static class VolumeShell
{
    public static async Task<string> RunAsync(string volume, string script)
    {
        string[] arguments =
        [
            "run", "--rm", "--user", "0", "--entrypoint", "/bin/sh", "-v", $"{volume}:/d",
            .. E2EDocker.Labels.SelectMany(l => new[] { "--label", $"{l.Key}={l.Value}" }),
            E2EDocker.BrokerImage, "-c", script,
        ];
        var result = await ProcessRunner.RunAsync("docker", arguments, TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, $"shell on volume {volume} failed: {result.Describe()}");
        return result.StandardOutput;
    }

    /// <summary>Every file under /d with its owner, mode, size and content digest: equal before and after means untouched.</summary>
    public static Task<string> SnapshotAsync(string volume) =>
        RunAsync(volume, "cd /d && find . -exec stat -c '%n %u %a %s %Y' {} + | sort && find . -type f -exec md5sum {} + | sort");
}
