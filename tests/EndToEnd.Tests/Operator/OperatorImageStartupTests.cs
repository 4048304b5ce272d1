using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Infrastructure;

namespace EndToEnd.Tests.Operator;

/// <summary>
/// The operator image built from Dockerfile.operator, started without what it needs: it refuses clearly with the exit
/// codes of the cluster-operator executable (2: usage, 1: no reachable cluster), never a crash, and runs as uid 1001.
/// Reconciling against an API server is the operator reconcile test's.
/// </summary>
public sealed class OperatorImageStartupTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task NoNamespace_ExitsWithCode2AndSaysWhy()
    {
        var result = await RunAsync([]);

        Assert.True(result.ExitCode == 2, result.Describe());
        Assert.Contains("STRIMZI_NAMESPACE must name one or more namespaces", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoReachableCluster_ExitsWithCode1AndSaysWhy()
    {
        var result = await RunAsync(["-e", "STRIMZI_NAMESPACE=myproject"]);

        var printed = result.StandardOutput + result.StandardError;
        Assert.True(result.ExitCode == 1, result.Describe());
        Assert.Contains("Cannot reach the Kubernetes API", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_RunsAsUid1001()
    {
        var result = await RunAsync(["--entrypoint", "id"], "-u");

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal("1001", result.StandardOutput.Trim());
    }

    // docker run --rm of the image, labelled for the sweep, with a hard timeout.
    private static async Task<ProcessResult> RunAsync(string[] options, params string[] arguments)
    {
        await E2EDocker.EnsureOperatorImageAsync();
        return await ProcessRunner.RunAsync(
            "docker",
            ["run", "--rm", .. E2EDocker.Labels.SelectMany(l => new[] { "--label", $"{l.Key}={l.Value}" }), .. options, E2EDocker.OperatorImage, .. arguments],
            RunTimeout);
    }
}
