using System.Diagnostics;
using System.Globalization;
using System.Net;
using Broker.IntegrationTests.Infrastructure;
using DotNet.Testcontainers.Containers;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Infrastructure;

/// <summary>
/// One broker container (see <see cref="BrokerContainerBuilder"/>). Testcontainers creates, starts and removes it;
/// stop, kill and restart go through the docker CLI, so that they are exactly what a user's <c>docker stop</c>
/// (SIGTERM, then SIGKILL after the grace period), <c>docker kill</c> and <c>docker restart</c> do. Readiness is the
/// broker's own /v1/ready on the published health port. Disposing removes the container even when a test failed.
/// Owned by one test; not thread-safe.
/// </summary>
internal sealed class BrokerContainer : IAsyncDisposable
{
    /// <summary>Generous: a loaded 2-core machine starts a container and a .NET process slowly.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly IContainer _container;
    private readonly IReadOnlyDictionary<int, int> _hostPorts;
    private readonly ITestOutputHelper? _output;

    internal BrokerContainer(IContainer container, string name, IReadOnlyDictionary<int, int> hostPorts, ITestOutputHelper? output)
    {
        _container = container;
        _output = output;
        _hostPorts = hostPorts;
        Name = name;
    }

    /// <summary>The container's name: its DNS name on user-defined networks and the handle for docker commands.</summary>
    public string Name { get; }

    /// <summary>Bootstrap address of the HOST listener (<see cref="BrokerContainerBuilder.WithHostListener"/>) for this process.</summary>
    public string HostBootstrap => $"127.0.0.1:{HostPort(BrokerContainerBuilder.HostListenerPort)}";

    /// <summary>The 127.0.0.1 port that <paramref name="containerPort"/> is published on.</summary>
    public int HostPort(int containerPort) => _hostPorts.TryGetValue(containerPort, out var port)
        ? port
        : throw new InvalidOperationException($"Port {containerPort} of {Name} is not published.");

    /// <summary>Starts the container and waits until the broker answers /v1/ready with 204; returns the time that took.</summary>
    public async Task<TimeSpan> StartAndWaitReadyAsync()
    {
        var started = Stopwatch.StartNew();
        await StartAsync();
        await WaitReadyAsync();
        return started.Elapsed;
    }

    /// <summary>Starts the container without waiting for the broker (it may exit at once: see <see cref="WaitForExitAsync"/>).</summary>
    public async Task StartAsync()
    {
        try
        {
            await _container.StartAsync();
        }
        catch (ContainerNotRunningException)
        {
            // It already exited; the test asks for the exit code and the logs.
        }
    }

    /// <summary>Polls /v1/ready until 204; fails with the container's log when it exits or <see cref="ReadyTimeout"/> passes.</summary>
    public async Task WaitReadyAsync()
    {
        var url = new Uri($"http://127.0.0.1:{HostPort(BrokerContainerBuilder.HealthPort)}/v1/ready");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < ReadyTimeout)
        {
            try
            {
                using var response = await Http.GetAsync(url);
                if (response.StatusCode == HttpStatusCode.NoContent)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet (or the published port is not forwarded yet).
            }
            catch (TaskCanceledException)
            {
                // A request that timed out; try again.
            }

            if (!(await StateAsync()).Running)
            {
                Assert.Fail($"{Name} exited before it was ready:{Environment.NewLine}{await LogsAsync()}");
            }

            await Task.Delay(200);
        }

        Assert.Fail($"{Name} was not ready within {ReadyTimeout.TotalSeconds} s:{Environment.NewLine}{await LogsAsync()}");
    }

    /// <summary><c>docker stop -t</c>: SIGTERM, then SIGKILL after <paramref name="graceSeconds"/> (Docker's default is 10).</summary>
    public Task StopAsync(int graceSeconds = 10) =>
        E2EDocker.RunAsync("stop", "-t", graceSeconds.ToString(CultureInfo.InvariantCulture), Name);

    /// <summary><c>docker kill</c>: SIGKILL, no shutdown at all.</summary>
    public Task KillAsync() => E2EDocker.RunAsync("kill", Name);

    /// <summary><c>docker restart</c> (a stop with the default grace, then a start), then waits until ready again.</summary>
    public async Task RestartAndWaitReadyAsync()
    {
        await E2EDocker.RunAsync("restart", Name);
        await WaitReadyAsync();
    }

    /// <summary><c>docker start</c> of the stopped container, then waits until ready again.</summary>
    public async Task StartAgainAndWaitReadyAsync()
    {
        await E2EDocker.RunAsync("start", Name);
        await WaitReadyAsync();
    }

    /// <summary>Everything the container printed so far, stdout then stderr.</summary>
    public async Task<string> LogsAsync()
    {
        var result = await ProcessRunner.RunAsync("docker", ["logs", Name], TimeSpan.FromMinutes(1));
        return result.StandardOutput + result.StandardError;
    }

    public async Task<(bool Running, int ExitCode)> StateAsync()
    {
        var state = (await E2EDocker.RunAsync("inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", Name)).Trim().Split(' ');
        return (state[0] == "true", int.Parse(state[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until the container has exited and returns its exit code; fails after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            var (running, exitCode) = await StateAsync();
            if (!running)
            {
                return exitCode;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"{Name} still runs after {timeout.TotalSeconds} s:{Environment.NewLine}{await LogsAsync()}");
        return -1;
    }

    /// <summary>Polls Docker's health status (the image's HEALTHCHECK) until it is <paramref name="expected"/>; returns the last status seen.</summary>
    public async Task<string> WaitForHealthAsync(string expected, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var status = string.Empty;
        while (deadline.Elapsed < timeout)
        {
            status = (await E2EDocker.RunAsync("inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", Name)).Trim();
            if (status == expected)
            {
                break;
            }

            await Task.Delay(500);
        }

        return status;
    }

    /// <summary><c>docker exec</c> of <paramref name="command"/> in the running container (e.g. <c>id -u</c>).</summary>
    public Task<ProcessResult> ExecAsync(params string[] command) =>
        ProcessRunner.RunAsync("docker", ["exec", Name, .. command], TimeSpan.FromMinutes(2));

    /// <summary>Writes the container's log to the test output (so a failure can be read), then removes the container.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_output is not null)
        {
            try
            {
                TestOutput.TryWriteLine(_output, $"--- log of {Name} ---{Environment.NewLine}{await LogsAsync()}");
            }
#pragma warning disable CA1031 // Best effort: the container may never have been created.
            catch (Exception e)
#pragma warning restore CA1031
            {
                TestOutput.TryWriteLine(_output, $"--- no log of {Name}: {e.Message}");
            }
        }

        await _container.DisposeAsync();
    }
}
