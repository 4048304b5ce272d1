using System.Globalization;
using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Kube.PodRunner;

/// <summary>
/// Runs one pod (one uid): a sandbox container that owns the pod's network namespace, fixed IP, hostname, DNS search
/// list and network aliases, its volumes on the host, then its init and app containers joined to the sandbox's
/// namespaces; restarts, probes and the pod status. One loop task per pod; <see cref="Update"/> and
/// <see cref="Terminating"/> may be called from the runner's loop. Thread-safe through that split.
/// </summary>
internal sealed class PodWorker
{
    private const string SandboxScript = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

    private readonly PodRunner _runner;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<ContainerSlot> _init;
    private readonly List<ContainerSlot> _app;
    private readonly Dictionary<string, (string Status, DateTime Since)> _conditions = new(StringComparer.Ordinal);
    private readonly string _directory;
    private readonly Dictionary<string, string> _volumeSources = new(StringComparer.Ordinal);
    private volatile V1Pod _pod;
    private Task _loop = Task.CompletedTask;
    private string? _ip;
    private string? _sandboxId;
    private SortedSet<string> _aliases = new(StringComparer.Ordinal);
    private DateTime? _startTime;
    private string? _lastStatus;
    private string? _podMessage;
    private bool _wasReady;

    public PodWorker(PodRunner runner, V1Pod pod)
    {
        _runner = runner;
        _pod = pod;
        _logger = runner.LoggerFactory.CreateLogger<PodWorker>();
        _init = [.. (pod.Spec.InitContainers ?? []).Select(c => new ContainerSlot(c, isInit: true))];
        _app = [.. pod.Spec.Containers.Select(c => new ContainerSlot(c, isInit: false))];
        _directory = Path.Combine(runner.StateDirectory, pod.Metadata.Uid);
    }

    public string Uid => _pod.Metadata.Uid;

    public string Namespace => _pod.Metadata.NamespaceProperty;

    public string Name => _pod.Metadata.Name;

    public V1Pod Pod => _pod;

    /// <summary>Set by the runner when termination starts; the pod is no longer synced.</summary>
    public volatile bool Terminating;

    private string DockerName => $"{_runner.Options.NamePrefix}-{Namespace}-{Name}-{Uid[..8]}";

    public void Start() => _loop = Task.Run(() => LoopAsync(_cts.Token));

    public void Update(V1Pod pod) => _pod = pod;

    public string? ContainerId(string container) => _app.Concat(_init).FirstOrDefault(s => s.Spec.Name == container)?.Id;

    /// <summary>Stops the containers (stop signal, then SIGKILL after <paramref name="grace"/>), then removes everything of the pod.</summary>
    public async Task TerminateAsync(TimeSpan grace)
    {
        await _cts.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var seconds = (uint)Math.Max(0, Math.Ceiling(grace.TotalSeconds));
        await Task.WhenAll(_app.Concat(_init).Where(s => s.Id is not null).Select(s =>
            DockerCleanup.IgnoreNotFound(() => _runner.Docker.Containers.StopContainerAsync(s.Id!, new ContainerStopParameters { WaitBeforeKillSeconds = seconds }))));
        await RemoveAsync();
    }

    /// <summary>Removes the pod's containers, sandbox and host directories at once (disposal, or after a stop).</summary>
    public async Task RemoveAsync()
    {
        await _cts.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var id in _app.Concat(_init).Select(s => s.Id).Append(_sandboxId).OfType<string>())
        {
            await DockerCleanup.IgnoreNotFound(() => _runner.Docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }));
        }
        _sandboxId = null;
        if (_ip is not null)
        {
            _runner.Ips.Release(_ip);
            _ip = null;
        }
        try
        {
            if (Directory.Exists(_directory))
            {
                Directory.Delete(_directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogDebug(e, "could not remove {Directory}", _directory);
        }
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await SyncAsync(ct);
                _podMessage = null;
            }
            catch (PodConfigException e)
            {
                _podMessage = e.Message;
                foreach (var slot in _init.Concat(_app).Where(s => s.Id is null))
                {
                    slot.State = ContainerSlot.Waiting(e.Reason, e.Message);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "sync of pod {Namespace}/{Name} failed", Namespace, Name);
            }
            try
            {
                await WriteStatusAsync(ct);
                await Task.Delay(_runner.Options.PodSyncInterval, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogDebug(e, "status of pod {Namespace}/{Name} not written", Namespace, Name);
            }
        }
    }

    private async Task SyncAsync(CancellationToken ct)
    {
        var pod = _pod;
        var state = _runner.State;
        await SetUpVolumesAsync(pod, state, ct);
        _ip ??= _runner.Ips.Allocate();
        _startTime ??= DateTime.UtcNow;
        if (_sandboxId is null)
        {
            await StartSandboxAsync(pod, state, ct);
        }
        foreach (var slot in _init)
        {
            if (!slot.Done)
            {
                await SyncContainerAsync(pod, state, slot, ct);
                if (!slot.Done)
                {
                    return; // init containers run one at a time, in order
                }
            }
        }
        foreach (var slot in _app)
        {
            await SyncContainerAsync(pod, state, slot, ct);
        }
        await SyncAliasesAsync(pod, state, ct);
    }

    private async Task SetUpVolumesAsync(V1Pod pod, ClusterState state, CancellationToken ct)
    {
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            var hostPath = Path.Combine(_directory, "volumes", volume.Name);
            if (VolumeProjector.IsProjected(volume))
            {
                VolumeProjector.Sync(hostPath, VolumeProjector.DesiredFiles(volume, pod.Metadata.NamespaceProperty, state));
                _volumeSources[volume.Name] = hostPath;
            }
            else if (volume.EmptyDir is not null && !_volumeSources.ContainsKey(volume.Name))
            {
                Directory.CreateDirectory(hostPath);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(hostPath, (UnixFileMode)0x1FF); // 0777, as the kubelet creates emptyDirs
                }
                _volumeSources[volume.Name] = hostPath;
            }
            else if (volume.PersistentVolumeClaim is { } claim && !_volumeSources.ContainsKey(volume.Name))
            {
                if (!state.Claims.ContainsKey(ClusterState.Key(pod.Metadata.NamespaceProperty, claim.ClaimName)))
                {
                    throw new PodConfigException("ContainerCreating", $"persistentvolumeclaim \"{claim.ClaimName}\" not found");
                }
                var docker = await _runner.EnsureClaimVolumeAsync(pod.Metadata.NamespaceProperty, claim.ClaimName, ct);
                if (pod.Spec.SecurityContext?.FsGroup is { } fsGroup)
                {
                    await _runner.ApplyFsGroupAsync(docker, fsGroup, ct);
                }
                _volumeSources[volume.Name] = docker;
            }
        }
    }

    private async Task StartSandboxAsync(V1Pod pod, ClusterState state, CancellationToken ct)
    {
        var options = _runner.Options;
        var ns = pod.Metadata.NamespaceProperty;
        _aliases = DnsNames.Aliases(pod, ready: false, state.Services.Values, options.ClusterDomain);
        var ports = pod.Spec.Containers.SelectMany(c => c.Ports ?? [])
            .Select(p => $"{p.ContainerPort}/{(p.Protocol ?? "TCP").ToLowerInvariant()}")
            .Distinct(StringComparer.Ordinal)
            .ToDictionary(p => p, _ => new EmptyStruct(), StringComparer.Ordinal);
        var hostname = pod.Spec.Hostname ?? pod.Metadata.Name;
        var created = await _runner.Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = DockerName,
            Image = options.SandboxImage,
            Entrypoint = ["/bin/sh", "-c", SandboxScript],
            Hostname = hostname.Length > 63 ? hostname[..63] : hostname,
            Domainname = pod.Spec.Subdomain is { Length: > 0 } sub ? $"{sub}.{ns}.svc.{options.ClusterDomain}" : "",
            Labels = ContainerLabels("sandbox"),
            ExposedPorts = ports,
            HostConfig = new HostConfig { NetworkMode = _runner.NetworkName, DNSSearch = [.. DnsNames.SearchDomains(ns, options.ClusterDomain)], IpcMode = "shareable" },
            NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings> { [_runner.NetworkName] = Endpoint() },
            },
        }, ct);
        _sandboxId = created.ID;
        await _runner.Docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), ct);
    }

    private EndpointSettings Endpoint() => new() { IPAMConfig = new EndpointIPAMConfig { IPv4Address = _ip! }, Aliases = [.. _aliases] };

    private async Task SyncAliasesAsync(V1Pod pod, ClusterState state, CancellationToken ct)
    {
        var ready = _app.All(s => s.Ready);
        var desired = DnsNames.Aliases(pod, ready, state.Services.Values, _runner.Options.ClusterDomain);
        if (desired.SetEquals(_aliases) || _sandboxId is null)
        {
            return;
        }
        // Docker takes aliases only when an endpoint connects; the fixed address keeps the pod IP across the reconnect.
        _aliases = desired;
        await _runner.Docker.Networks.DisconnectNetworkAsync(_runner.NetworkName, new NetworkDisconnectParameters { Container = _sandboxId, Force = true }, ct);
        await _runner.Docker.Networks.ConnectNetworkAsync(_runner.NetworkName, new NetworkConnectParameters { Container = _sandboxId, EndpointConfig = Endpoint() }, ct);
    }

    private Dictionary<string, string> ContainerLabels(string container) => new(_runner.Labels)
    {
        [PodRunner.RunnerLabel + ".namespace"] = Namespace,
        [PodRunner.RunnerLabel + ".pod"] = Name,
        [PodRunner.RunnerLabel + ".uid"] = Uid,
        [PodRunner.RunnerLabel + ".container"] = container,
    };

    private async Task SyncContainerAsync(V1Pod pod, ClusterState state, ContainerSlot slot, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        if (slot.Id is null)
        {
            if (now < slot.NextAttempt)
            {
                return;
            }
            if (!await ImagePresentAsync(slot, ct))
            {
                slot.ImageFailures++;
                slot.State = ContainerSlot.Waiting(slot.ImageFailures == 1 ? "ErrImagePull" : "ImagePullBackOff",
                    $"Back-off pulling image \"{slot.Spec.Image}\": the image is not on the runner's Docker engine (nothing is pulled)");
                slot.NextAttempt = now + Backoff(slot.ImageFailures - 1);
                return;
            }
            slot.Id = await CreateContainerAsync(pod, state, slot, ct);
            try
            {
                await StartContainerAsync(slot, ct);
            }
            catch (DockerApiException e)
            {
                // As the kubelet: the container is removed and created again after a back-off.
                await DockerCleanup.IgnoreNotFound(() => _runner.Docker.Containers.RemoveContainerAsync(slot.Id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, ct));
                slot.Id = null;
                slot.State = ContainerSlot.Waiting("RunContainerError", (e.ResponseBody ?? e.Message).Trim());
                slot.NextAttempt = now + Backoff(slot.BackoffStep++);
            }
            return;
        }
        if (slot.Done)
        {
            return;
        }

        var inspected = await _runner.Docker.Containers.InspectContainerAsync(slot.Id, ct);
        if (inspected.State?.Running == true)
        {
            await ProbeAsync(slot, now, ct);
            return;
        }
        if (slot.State.Running is not null)
        {
            await OnExitedAsync(pod, slot, inspected, ct);
        }
        if (!slot.Done && slot.State.Waiting is not null && now >= slot.NextAttempt)
        {
            slot.RestartCount++;
            await StartContainerAsync(slot, ct);
        }
    }

    private async Task OnExitedAsync(V1Pod pod, ContainerSlot slot, ContainerInspectResponse inspected, CancellationToken ct)
    {
        var exited = inspected.State ?? new State();
        var code = (int)exited.ExitCode;
        var message = code != 0 && slot.Spec.TerminationMessagePolicy == "FallbackToLogsOnError" ? await LogTailAsync(slot.Id!, ct) : null;
        if (code != 0)
        {
            _logger.LogInformation("container {Container} of pod {Namespace}/{Name} exited with code {Code}", slot.Spec.Name, Namespace, Name, code);
        }
        var terminated = new V1ContainerStateTerminated
        {
            ExitCode = code,
            Reason = exited.OOMKilled ? "OOMKilled" : code == 0 ? "Completed" : "Error",
            Message = message,
            StartedAt = ParseTime(exited.StartedAt),
            FinishedAt = ParseTime(exited.FinishedAt),
            ContainerID = "docker://" + slot.Id,
        };
        var policy = pod.Spec.RestartPolicy ?? "Always";
        var restart = slot.IsInit ? code != 0 && policy != "Never" : policy == "Always" || (policy == "OnFailure" && code != 0);
        if (slot.IsInit && code == 0)
        {
            slot.Done = true;
        }
        if (!restart)
        {
            slot.Done = true;
            slot.State = new V1ContainerState { Terminated = terminated };
            return;
        }
        // The kubelet's back-off resets after a container ran for 10 minutes without trouble.
        if (terminated.FinishedAt - terminated.StartedAt > TimeSpan.FromMinutes(10))
        {
            slot.BackoffStep = 0;
        }
        var delay = Backoff(slot.BackoffStep++);
        slot.LastState = new V1ContainerState { Terminated = terminated };
        slot.State = ContainerSlot.Waiting("CrashLoopBackOff", $"back-off {delay.TotalSeconds:0.#}s restarting failed container={slot.Spec.Name} pod={pod.Metadata.Name}_{pod.Metadata.NamespaceProperty}({pod.Metadata.Uid})");
        slot.NextAttempt = DateTimeOffset.UtcNow + delay;
    }

    // terminationMessagePolicy FallbackToLogsOnError: the kubelet reports the last 80 lines (at most 2048 bytes) of output.
    private async Task<string?> LogTailAsync(string id, CancellationToken ct)
    {
        try
        {
            using var stream = await _runner.Docker.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = "80" }, ct);
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct);
            var text = stdout + stderr;
            return text.Length > 2048 ? text[^2048..] : text;
        }
        catch (DockerApiException)
        {
            return null;
        }
    }

    private TimeSpan Backoff(int step)
    {
        var options = _runner.Options;
        var ticks = options.RestartBackoff.Ticks * Math.Pow(2, Math.Min(step, 20));
        return TimeSpan.FromTicks((long)Math.Min(ticks, options.MaxRestartBackoff.Ticks));
    }

    private async Task ProbeAsync(ContainerSlot slot, DateTimeOffset now, CancellationToken ct)
    {
        if (await Prober.RunDueAsync(_runner.Docker, slot, _ip!, now, ct) is { } failed)
        {
            await KillForRestartAsync(slot, failed, ct);
        }
    }

    private async Task KillForRestartAsync(ContainerSlot slot, string probe, CancellationToken ct)
    {
        _logger.LogInformation("container {Container} of pod {Namespace}/{Name} failed its {Probe} probe; restarting", slot.Spec.Name, Namespace, Name, probe);
        var grace = (uint)(_pod.Spec.TerminationGracePeriodSeconds ?? 30);
        await _runner.Docker.Containers.StopContainerAsync(slot.Id!, new ContainerStopParameters { WaitBeforeKillSeconds = grace }, ct);
        var inspected = await _runner.Docker.Containers.InspectContainerAsync(slot.Id!, ct);
        await OnExitedAsync(_pod, slot, inspected, ct);
    }

    private async Task<bool> ImagePresentAsync(ContainerSlot slot, CancellationToken ct)
    {
        try
        {
            var image = await _runner.Docker.Images.InspectImageAsync(slot.Spec.Image, ct);
            slot.ImageId = image.ID;
            return true;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private async Task StartContainerAsync(ContainerSlot slot, CancellationToken ct)
    {
        await _runner.Docker.Containers.StartContainerAsync(slot.Id!, new ContainerStartParameters(), ct);
        var started = DateTime.UtcNow;
        slot.State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = started } };
        slot.ResetProbes(started);
    }

    private async Task<string> CreateContainerAsync(V1Pod pod, ClusterState state, ContainerSlot slot, CancellationToken ct)
    {
        var env = EnvResolver.Resolve(pod, slot.Spec, state, new EnvResolver.PodRuntime(_ip!, _runner.HostIp, _runner.Options.NodeName));
        var parameters = ContainerParameters.For(pod, slot.Spec, env, $"{DockerName}-{slot.Spec.Name}", _sandboxId!, _volumeSources, ContainerLabels(slot.Spec.Name));
        var created = await _runner.Docker.Containers.CreateContainerAsync(parameters, ct);
        return created.ID;
    }

    private static DateTime? ParseTime(string? value) =>
        DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) && t.Year > 1 ? t : null;

    private async Task WriteStatusAsync(CancellationToken ct)
    {
        var pod = _pod;
        var status = PodStatusBuilder.Build(pod, _init, _app, _ip, _runner.HostIp, _startTime, _podMessage, _conditions);
        var json = KubernetesJson.Serialize(status);
        if (json == _lastStatus)
        {
            return;
        }
        var current = _runner.State.Pods.GetValueOrDefault(ClusterState.Key(Namespace, Name));
        if (current is not null && current.Metadata.Uid != Uid)
        {
            return; // a new incarnation of the name; this one is on its way out
        }
        await _runner.Kube.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(new V1Pod { Status = status }, V1Patch.PatchType.MergePatch), Name, Namespace, cancellationToken: ct);
        _lastStatus = json;
        if (status.Conditions.Any(c => c.Type == "Ready" && c.Status == "True") != _wasReady)
        {
            _wasReady = !_wasReady;
            _runner.Wake();
        }
    }
}
