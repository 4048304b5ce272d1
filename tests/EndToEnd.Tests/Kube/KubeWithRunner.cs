using System.Diagnostics;
using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Infrastructure;
using k8s;
using k8s.Models;
using Kube.ApiServer;
using Kube.PodRunner;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Kube;

/// <summary>
/// An empty in-process API-server fixture with a pod runner attached, one namespace for the test, and helpers to wait
/// for pod states and run commands in pod containers. Everything the runner created is removed on disposal (its
/// containers, volumes and network carry <see cref="E2EDocker.Labels"/> for the sweep too). Owned by one test.
/// </summary>
internal sealed class KubeWithRunner : IAsyncDisposable
{
    public const string Namespace = "podrunner";

    /// <summary>The .NET runtime-deps image (a local stand-in here): Debian with /bin/sh, getent and coreutils.</summary>
    public const string ShellImage = "mcr.microsoft.com/dotnet/runtime-deps:10.0";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly TestOutputLoggerFactory _loggers;
    private readonly ITestOutputHelper _output;

    private KubeWithRunner(KubeApiServer server, TestOutputLoggerFactory loggers, ITestOutputHelper output)
    {
        Server = server;
        Client = server.CreateClient();
        _loggers = loggers;
        _output = output;
    }

    public KubeApiServer Server { get; private set; }

    public Kubernetes Client { get; }

    public PodRunner Runner { get; private set; } = null!;

    public static async Task<KubeWithRunner> StartAsync(ITestOutputHelper output, Action<PodRunnerOptions>? configure = null)
    {
        await E2EDocker.EnsureSweptAsync();
        var server = await KubeApiServer.StartAsync();
        var fixture = new KubeWithRunner(server, new TestOutputLoggerFactory(output), output);
        try
        {
            var options = new PodRunnerOptions { Labels = E2EDocker.Labels, NamePrefix = $"e2e-{E2EDocker.RunId}-{Guid.NewGuid().ToString("N")[..6]}" };
            configure?.Invoke(options);
            fixture.Runner = await PodRunner.StartAsync(fixture.Client, options, fixture._loggers);
            await fixture.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>Replaces the API server with a new, empty one on the same port, as a restarted apiserver without storage.</summary>
    public async Task RestartServerAsync()
    {
        var port = Server.BaseUri.Port;
        Server.DisconnectWatches();
        await Server.DisposeAsync();
        Server = await KubeApiServer.StartAsync(new KubeApiServerOptions { Port = port });
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
    }

    /// <summary>A pod of <see cref="ShellImage"/> running <paramref name="script"/> under /bin/sh (PID 1, so it traps TERM itself).</summary>
    public static V1Pod ShellPod(string name, string script, Action<V1Pod>? configure = null)
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace },
            Spec = new V1PodSpec
            {
                TerminationGracePeriodSeconds = 2,
                Containers = [new V1Container { Name = "main", Image = ShellImage, Command = ["/bin/sh", "-c", script] }],
            },
        };
        configure?.Invoke(pod);
        return pod;
    }

    /// <summary>A script that stays up until SIGTERM and then exits at once.</summary>
    public const string SleepForever = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";

    public Task<V1Pod> CreatePodAsync(V1Pod pod) => Client.CoreV1.CreateNamespacedPodAsync(pod, Namespace);

    public async Task<V1Pod> WaitForPodAsync(string name, Func<V1Pod, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        V1Pod? pod = null;
        while (deadline.Elapsed < (timeout ?? DefaultTimeout))
        {
            try
            {
                pod = await Client.CoreV1.ReadNamespacedPodAsync(name, Namespace);
                if (condition(pod))
                {
                    return pod;
                }
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                pod = null;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"pod {name}: timed out waiting for {what}; last status: {(pod is null ? "(no pod)" : KubernetesJson.Serialize(pod.Status))}");
        return null!;
    }

    /// <summary>Waits until the pod object is gone (the runner deletes it once its containers have stopped).</summary>
    public async Task WaitForPodGoneAsync(string name, TimeSpan? timeout = null) =>
        await EventuallyAsync(async () => (await Client.CoreV1.ListNamespacedPodAsync(Namespace, fieldSelector: $"metadata.name={name}")).Items.Count == 0,
            $"pod {name} to be deleted", timeout);

    public static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    public string ContainerId(string pod, string container = "main") =>
        Runner.ContainerId(Namespace, pod, container) ?? throw new InvalidOperationException($"pod {pod} has no container {container} running");

    /// <summary>Runs <paramref name="script"/> with /bin/sh in a pod's container; returns exit code and stdout.</summary>
    public async Task<(int ExitCode, string Output)> ExecAsync(string pod, string script, string container = "main")
    {
        var result = await ProcessRunner.RunAsync("docker", ["exec", ContainerId(pod, container), "/bin/sh", "-c", script], TimeSpan.FromSeconds(30));
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    public async Task<string> LogsAsync(string pod, string container = "main")
    {
        var result = await ProcessRunner.RunAsync("docker", ["logs", ContainerId(pod, container)], TimeSpan.FromSeconds(30));
        return result.StandardOutput + result.StandardError;
    }

    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (timeout ?? DefaultTimeout))
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"timed out waiting for {what}");
    }

    public async ValueTask DisposeAsync()
    {
        var watch = Stopwatch.StartNew();
        if (Runner is not null)
        {
            await Runner.DisposeAsync();
        }
        var runnerTime = watch.Elapsed;
        Client.Dispose();
        Server.DisconnectWatches();
        await Server.DisposeAsync();
        _loggers.Dispose();
        TestOutput.TryWriteLine(_output, $"runner disposed in {runnerTime.TotalSeconds:F1} s, then the fixture in {(watch.Elapsed - runnerTime).TotalSeconds:F1} s");
    }
}
