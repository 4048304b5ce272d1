using System.Globalization;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// Counts one probe's consecutive successes and failures against its thresholds, as the kubelet's prober worker does.
/// Owned by one pod worker.
/// </summary>
internal sealed class ProbeState(V1Probe probe, bool initialResult)
{
    private int _successes;
    private int _failures;

    public V1Probe Probe { get; } = probe;

    public bool Result { get; private set; } = initialResult;

    public DateTimeOffset NextRun { get; set; }

    /// <summary>True once failureThreshold consecutive attempts failed.</summary>
    public bool FailedOut => _failures >= Math.Max(1, Probe.FailureThreshold ?? 3);

    public TimeSpan Period => TimeSpan.FromSeconds(Probe.PeriodSeconds is > 0 ? Probe.PeriodSeconds.Value : 10);

    public TimeSpan InitialDelay => TimeSpan.FromSeconds(Probe.InitialDelaySeconds ?? 0);

    /// <summary>Records one outcome; true when <see cref="Result"/> changed.</summary>
    public bool Record(bool success)
    {
        var before = Result;
        if (success)
        {
            _failures = 0;
            if (++_successes >= Math.Max(1, Probe.SuccessThreshold ?? 1))
            {
                Result = true;
            }
        }
        else
        {
            _successes = 0;
            if (++_failures >= Math.Max(1, Probe.FailureThreshold ?? 3))
            {
                Result = false;
            }
        }
        return before != Result;
    }
}

/// <summary>
/// Runs one probe attempt the kubelet's way: exec inside the container (exit code 0), TCP connect or HTTP GET
/// (status 200-399) from the node to the pod IP. Stateless. Thread-safe.
/// </summary>
internal static class Prober
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true }, // the kubelet does not verify either
        AllowAutoRedirect = false,
    });

    public static async Task<bool> RunAsync(IDockerClient docker, V1Probe probe, V1Container container, string containerId, string podIp, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(probe.TimeoutSeconds is > 0 ? probe.TimeoutSeconds.Value : 1));
        try
        {
            if (probe.Exec is { } exec)
            {
                var created = await docker.Exec.CreateContainerExecAsync(containerId,
                    new ContainerExecCreateParameters { Cmd = exec.Command, AttachStdout = true, AttachStderr = true }, timeout.Token);
                using (var stream = await docker.Exec.StartContainerExecAsync(created.ID, new ContainerExecStartParameters(), timeout.Token))
                {
                    await stream.ReadOutputToEndAsync(timeout.Token);
                }
                var inspected = await docker.Exec.InspectContainerExecAsync(created.ID, timeout.Token);
                return inspected.ExitCode == 0;
            }
            if (probe.TcpSocket is { } tcp)
            {
                using var client = new TcpClient();
                await client.ConnectAsync(tcp.Host ?? podIp, Port(tcp.Port, container), timeout.Token);
                return true;
            }
            if (probe.HttpGet is { } get)
            {
                var scheme = string.Equals(get.Scheme, "HTTPS", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
                var path = string.IsNullOrEmpty(get.Path) ? "/" : get.Path;
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{scheme}://{get.Host ?? podIp}:{Port(get.Port, container)}{path}"));
                foreach (var header in get.HttpHeaders ?? [])
                {
                    request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                }
                using var response = await Http.SendAsync(request, timeout.Token);
                return (int)response.StatusCode is >= 200 and < 400;
            }
            return true; // grpc and unknown handlers: not emulated, treated as passing
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or HttpRequestException or IOException or DockerApiException)
        {
            if (ct.IsCancellationRequested)
            {
                throw;
            }
            return false;
        }
    }

    /// <summary>
    /// Runs a running container's due probes (startup first; liveness and readiness once it passed); returns the probe
    /// whose failure means the container must be stopped and restarted, or null.
    /// </summary>
    public static async Task<string?> RunDueAsync(IDockerClient docker, ContainerSlot slot, string podIp, DateTimeOffset now, CancellationToken ct)
    {
        if (slot.Startup is { Result: false } startup)
        {
            if (now >= startup.NextRun)
            {
                startup.NextRun = now + startup.Period;
                startup.Record(await RunAsync(docker, startup.Probe, slot.Spec, slot.Id!, podIp, ct));
                if (!startup.Result && startup.FailedOut)
                {
                    return "startup";
                }
            }
            if (!startup.Result)
            {
                return null;
            }
            // Liveness and readiness start once the startup probe has succeeded.
            foreach (var probe in new[] { slot.Readiness, slot.Liveness })
            {
                if (probe is not null && probe.NextRun < now)
                {
                    probe.NextRun = now;
                }
            }
        }
        if (slot.Liveness is { } liveness && now >= liveness.NextRun)
        {
            liveness.NextRun = now + liveness.Period;
            liveness.Record(await RunAsync(docker, liveness.Probe, slot.Spec, slot.Id!, podIp, ct));
            if (!liveness.Result)
            {
                return "liveness";
            }
        }
        if (slot.Readiness is { } readiness && now >= readiness.NextRun)
        {
            readiness.NextRun = now + readiness.Period;
            readiness.Record(await RunAsync(docker, readiness.Probe, slot.Spec, slot.Id!, podIp, ct));
        }
        return null;
    }

    /// <summary>A probe's port: a number, or the name of one of the container's ports.</summary>
    public static int Port(IntOrString port, V1Container container)
    {
        var value = port.Value;
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }
        return container.Ports?.FirstOrDefault(p => p.Name == value)?.ContainerPort
            ?? throw new InvalidOperationException($"container {container.Name} has no port named {value}");
    }
}
