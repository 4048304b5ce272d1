using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Kube;

/// <summary>
/// <c>make kube-local</c> as the README tells a person to use it: the script brings up the API server, the pod runner and
/// the operator image; kubectl applies an example and waits for Ready; a client container on the cluster network
/// produces through the bootstrap Service; SIGTERM stops everything and leaves no container, volume or network behind.
/// Runs the script (tests/scripts/kube-local.sh) itself, on its own network, port and kubeconfig directory.
/// </summary>
public sealed class KubeLocalTests(ITestOutputHelper output)
{
    private const string Example = "examples/kafka/kafka-single-node.yaml";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task KubeLocal_ApplyWaitProduceThenSigterm_KafkaReadyRecordsProducedAndEverythingRemoved()
    {
        await E2EDocker.EnsureSweptAsync();
        var network = $"e2e-{E2EDocker.RunId}-kube-local";
        var operatorName = $"e2e-{E2EDocker.RunId}-kube-local-operator";
        using var directory = new TempDirectory("e2e-kube-local");
        if (!OperatingSystem.IsWindows())
        {
            // The operator container (uid 1001) reads the kubeconfig from this directory.
            File.SetUnixFileMode(directory.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        var kubeconfig = Path.Combine(directory.Path, "config");
        var lines = new ConcurrentQueue<string>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var script = new Process
        {
            StartInfo = new ProcessStartInfo("bash", [Path.Combine(RepositoryPaths.Root, "tests", "scripts", "kube-local.sh")])
            {
                WorkingDirectory = RepositoryPaths.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment =
                {
                    ["APISERVER_PORT"] = LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture),
                    ["OPERATOR_HEALTH_PORT"] = LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture),
                    ["KUBE_LOCAL_NETWORK"] = network,
                    ["KUBE_LOCAL_OPERATOR"] = operatorName,
                    ["KUBE_LOCAL_DIR"] = directory.Path,
                },
            },
        };
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is { } line)
            {
                lines.Enqueue(line);
                if (line.StartsWith("kube-local ready", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            }
        }

        script.OutputDataReceived += OnLine;
        script.ErrorDataReceived += OnLine;
        var started = Stopwatch.StartNew();
        script.Start();
        script.BeginOutputReadLine();
        script.BeginErrorReadLine();
        try
        {
            var first = await Task.WhenAny(ready.Task, script.WaitForExitAsync(), Task.Delay(StartTimeout));
            Assert.True(first == ready.Task, $"make kube-local did not get ready (exited: {script.HasExited}); its output:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
            output.WriteLine($"MEASURE kube-local ready (hosts built, images built or cached) in {started.Elapsed.TotalSeconds:F1} s");

            // The README's steps.
            var applied = Stopwatch.StartNew();
            await KubectlAsync(kubeconfig, "apply", "-f", Path.Combine(RepositoryPaths.Root, Example));
            await KubectlAsync(kubeconfig, "wait", "kafka/my-cluster", "--for=condition=Ready", "--timeout=300s");
            output.WriteLine($"MEASURE kubectl apply of {Example} to Ready: {applied.Elapsed.TotalSeconds:F1} s");
            var produced = await ProcessRunner.RunAsync("docker",
            [
                "run", "--rm", "--network", network, .. E2EDocker.Labels.SelectMany(l => new[] { "--label", $"{l.Key}={l.Value}" }),
                $"kafka-broker:{ChartAppVersion()}", "perf", "produce", "--bootstrap-server", "my-cluster-kafka-bootstrap.default.svc:9092",
                "--topic", "hello", "--num-records", "10000", "--record-size", "100", "--acks", "all",
            ], TimeSpan.FromMinutes(2));
            Assert.True(produced.ExitCode == 0, $"perf produce from a client container failed: {produced.Describe()}");
            Assert.Contains("10000 records sent", produced.StandardOutput + produced.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            if (!script.HasExited)
            {
                await ProcessRunner.RunAsync("kill", ["-TERM", script.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
                using var stop = new CancellationTokenSource(StopTimeout);
                try
                {
                    await script.WaitForExitAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    script.Kill(entireProcessTree: true);
                }
            }

            output.WriteLine(string.Join(Environment.NewLine, lines.TakeLast(40)));
        }

        Assert.Contains("kube-local stopped", lines);
        // Nothing is left: no container on the network (the operator's included), no claim volume, no network.
        var containers = await E2EDocker.RunAsync("ps", "-a", "-q", "--filter", $"network={network}");
        Assert.True(containers.Trim().Length == 0, $"containers left on {network}: {containers}");
        Assert.Equal("", (await E2EDocker.RunAsync("ps", "-a", "-q", "--filter", $"name={operatorName}")).Trim());
        Assert.Equal("", (await E2EDocker.RunAsync("volume", "ls", "-q", "--filter", $"name={network}")).Trim());
        Assert.Equal("", (await E2EDocker.RunAsync("network", "ls", "-q", "--filter", $"name={network}")).Trim());
    }

    private static async Task KubectlAsync(string kubeconfig, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("kubectl", ["--kubeconfig", kubeconfig, .. arguments], TimeSpan.FromMinutes(6));
        Assert.True(result.ExitCode == 0, $"kubectl {string.Join(' ', arguments)} failed: {result.Describe()}");
    }

    /// <summary>The project version the script tags its images with (the chart's appVersion).</summary>
    private static string ChartAppVersion() =>
        File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "charts", "strimzi-kafka-operator", "Chart.yaml"))
            .Single(l => l.StartsWith("appVersion:", StringComparison.Ordinal))["appVersion:".Length..].Trim().Trim('"');
}
