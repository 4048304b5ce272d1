using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kube.PodRunner;

/// <summary>
/// "The kubelet" of the API-server fixture: watches Pods (and the Services, ConfigMaps, Secrets and claims they use)
/// through any Kubernetes API server and runs each Pod as Docker containers on one user-defined network that plays
/// the cluster network. Level-triggered like a controller: watch events only wake a full re-list, which also runs
/// every <see cref="PodRunnerOptions.ResyncInterval"/>, so an expired watch (410) or a restarted server needs nothing
/// special. Disposing it removes every container, volume and network it created. Thread-safe.
/// </summary>
public sealed class PodRunner : IAsyncDisposable
{
    /// <summary>Label on everything a runner creates; the value is its <see cref="PodRunnerOptions.NamePrefix"/>.</summary>
    public const string RunnerLabel = "io.strimzi-dotnet.podrunner";

    private readonly IKubernetes _kube;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _terminations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _claimVolumes = new(StringComparer.Ordinal);
    private readonly List<Task> _loops = [];
    private readonly bool _ownsStateDirectory;
    private volatile ClusterState _state = ClusterState.Empty;

    private PodRunner(IKubernetes kube, DockerClient docker, PodRunnerOptions options, ILoggerFactory loggerFactory, string stateDirectory, bool ownsStateDirectory)
    {
        _kube = kube;
        Docker = docker;
        Options = options;
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<PodRunner>();
        StateDirectory = stateDirectory;
        _ownsStateDirectory = ownsStateDirectory;
        Labels = new Dictionary<string, string>(options.Labels) { [RunnerLabel] = options.NamePrefix };
    }

    /// <summary>The user-defined Docker network every pod sandbox is attached to.</summary>
    public string NetworkName => Options.NamePrefix;

    /// <summary>The node's address on the cluster network (the bridge's gateway), reported as each pod's hostIP.</summary>
    public string HostIp { get; private set; } = "";

    /// <summary>The latest listing of the cluster.</summary>
    public ClusterState State => _state;

    internal DockerClient Docker { get; }

    internal IKubernetes Kube => _kube;

    internal PodRunnerOptions Options { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal string StateDirectory { get; }

    internal IReadOnlyDictionary<string, string> Labels { get; }

    internal IpAllocator Ips { get; private set; } = null!;

    public static async Task<PodRunner> StartAsync(IKubernetes kube, PodRunnerOptions? options = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        options ??= new PodRunnerOptions();
        var builder = new DockerClientBuilder();
        var endpoint = options.DockerEndpoint ?? (Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? new Uri(host) : new Uri("unix:///var/run/docker.sock"));
        builder = builder.WithEndpoint(endpoint);
        if (Environment.GetEnvironmentVariable("DOCKER_API_VERSION") is { Length: > 0 } apiVersion)
        {
            builder = builder.WithApiVersion(System.Version.Parse(apiVersion));
        }
        var docker = builder.Build();
        var ownsState = options.StateDirectory is null;
        var stateDirectory = options.StateDirectory ?? Directory.CreateTempSubdirectory("podrunner-").FullName;
        var runner = new PodRunner(kube, docker, options, loggerFactory ?? NullLoggerFactory.Instance, stateDirectory, ownsState);
        try
        {
            await runner.CreateNetworkAsync(cancellationToken);
            runner._loops.Add(Task.Run(() => runner.ResyncLoopAsync(runner._stop.Token), CancellationToken.None));
            runner._loops.Add(Task.Run(() => runner.WatchLoopAsync("pods", ct => kube.CoreV1.WatchListPodForAllNamespacesAsync(cancellationToken: ct), runner._stop.Token), CancellationToken.None));
            runner._loops.Add(Task.Run(() => runner.WatchLoopAsync("services", ct => kube.CoreV1.WatchListServiceForAllNamespacesAsync(cancellationToken: ct), runner._stop.Token), CancellationToken.None));
            return runner;
        }
        catch
        {
            await runner.DisposeAsync();
            throw;
        }
    }

    /// <summary>The Docker id of a running pod's container (null when the pod or container is not running here).</summary>
    public string? ContainerId(string ns, string pod, string container) =>
        _workers.Values.FirstOrDefault(w => w.Namespace == ns && w.Name == pod && !w.Terminating)?.ContainerId(container);

    /// <summary>The Docker volume that holds a PersistentVolumeClaim's data (created on first use by a pod).</summary>
    public string ClaimVolumeName(string ns, string claim) => $"{Options.NamePrefix}-{ns}-{claim}";

    /// <summary>Wakes the resync loop (a watch event or a test that changed something).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    internal async Task<string> EnsureClaimVolumeAsync(string ns, string claim, CancellationToken ct)
    {
        var name = ClaimVolumeName(ns, claim);
        if (_claimVolumes.ContainsKey(ClusterState.Key(ns, claim)))
        {
            return name;
        }
        var labels = new Dictionary<string, string>(Labels) { [RunnerLabel + ".claim"] = $"{ns}.{claim}" };
        await Docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = name, Labels = labels }, ct);
        _claimVolumes[ClusterState.Key(ns, claim)] = name;
        return name;
    }

    /// <summary>
    /// What the kubelet does for a pod with <c>securityContext.fsGroup</c> on each mount: the volume's files become owned
    /// by that group, group-writable, directories setgid. Done in a short-lived root container of the sandbox image.
    /// </summary>
    internal async Task ApplyFsGroupAsync(string volume, long fsGroup, CancellationToken ct)
    {
        var group = fsGroup.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var created = await Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = Options.SandboxImage,
            User = "0",
            Entrypoint = ["/bin/sh", "-c", $"chgrp -R {group} /volume && chmod -R g+rwX /volume && find /volume -type d -exec chmod g+s {{}} +"],
            Labels = new Dictionary<string, string>(Labels),
            HostConfig = new HostConfig { Binds = [$"{volume}:/volume"], NetworkMode = "none" },
        }, ct);
        try
        {
            await Docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), ct);
            var result = await Docker.Containers.WaitContainerAsync(created.ID, ct);
            if (result.StatusCode != 0)
            {
                throw new PodConfigException("ContainerCreating", $"MountVolume.SetUp failed for volume {volume}: applying fsGroup {group} exited {result.StatusCode}");
            }
        }
        finally
        {
            await DockerCleanup.IgnoreNotFound(() => Docker.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None));
        }
    }

    private async Task CreateNetworkAsync(CancellationToken ct)
    {
        var (subnet, gateway) = await ClusterNetwork.CreateAsync(Docker, NetworkName, Labels, Options.Subnet, ct);
        HostIp = gateway;
        Ips = new IpAllocator(subnet, gateway);
    }

    private async Task WatchLoopAsync<T>(string what, Func<CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var _ in watch(ct))
                {
                    Wake();
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // 410 Gone, a restarted server or a dropped connection: the resync loop re-lists anyway.
                _logger.LogDebug(e, "watch of {What} ended; re-watching", what);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Wake();
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ResyncLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ResyncAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "resync failed; retrying");
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(Options.ResyncInterval);
            try
            {
                await _wake.Reader.ReadAsync(timeout.Token);
                await Task.Delay(20, ct); // let a burst of events land in one listing
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Periodic resync.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ResyncAsync(CancellationToken ct)
    {
        var pods = _kube.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct);
        var services = _kube.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: ct);
        var configMaps = _kube.CoreV1.ListConfigMapForAllNamespacesAsync(cancellationToken: ct);
        var secrets = _kube.CoreV1.ListSecretForAllNamespacesAsync(cancellationToken: ct);
        var claims = _kube.CoreV1.ListPersistentVolumeClaimForAllNamespacesAsync(cancellationToken: ct);
        var state = new ClusterState((await pods).Items, (await services).Items, (await configMaps).Items, (await secrets).Items, (await claims).Items);
        _state = state;

        foreach (var pod in state.Pods.Values)
        {
            var uid = pod.Metadata.Uid;
            if (_workers.TryGetValue(uid, out var worker))
            {
                worker.Update(pod);
                if (pod.Metadata.DeletionTimestamp is not null && !worker.Terminating)
                {
                    var grace = pod.Metadata.DeletionGracePeriodSeconds ?? pod.Spec.TerminationGracePeriodSeconds ?? 30;
                    StartTermination(worker, grace, deleteObject: true);
                }
                continue;
            }
            if (_terminations.ContainsKey(uid))
            {
                continue;
            }
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                await FinishDeletionAsync(pod, ct);
                continue;
            }
            var assigned = pod.Spec.NodeName;
            var finished = pod.Status?.Phase is "Succeeded" or "Failed";
            if (!finished && (string.IsNullOrEmpty(assigned) || assigned == Options.NodeName))
            {
                if (string.IsNullOrEmpty(assigned) && !await BindAsync(pod, ct))
                {
                    continue;
                }
                var created = new PodWorker(this, pod);
                _workers[uid] = created;
                created.Start();
            }
        }

        foreach (var worker in _workers.Values)
        {
            if (!worker.Terminating && !state.Pods.Values.Any(p => p.Metadata.Uid == worker.Uid))
            {
                // Deleted at once (the fixture has no graceful deletion): the kubelet still gives the pod its grace period.
                StartTermination(worker, worker.Pod.Spec.TerminationGracePeriodSeconds ?? 30, deleteObject: false);
            }
        }

        foreach (var (key, volume) in _claimVolumes)
        {
            if (!state.Claims.ContainsKey(key))
            {
                try
                {
                    await Docker.Volumes.RemoveAsync(volume, force: false, ct);
                    _claimVolumes.TryRemove(key, out _);
                }
                catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
                {
                    // Still mounted by a pod that is going away; the next resync retries.
                }
                catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
                {
                    _claimVolumes.TryRemove(key, out _);
                }
            }
        }
    }

    private void StartTermination(PodWorker worker, long grace, bool deleteObject)
    {
        worker.Terminating = true;
        _terminations[worker.Uid] = Task.Run(async () =>
        {
            try
            {
                await worker.TerminateAsync(TimeSpan.FromSeconds(grace));
                if (deleteObject)
                {
                    await FinishDeletionAsync(worker.Pod, _stop.Token);
                }
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                _logger.LogWarning(e, "terminating pod {Namespace}/{Name} failed", worker.Namespace, worker.Name);
            }
            catch (OperationCanceledException)
            {
                // Disposal.
            }
            finally
            {
                _workers.TryRemove(worker.Uid, out _);
                _terminations.TryRemove(worker.Uid, out _);
                Wake();
            }
        });
    }

    // The scheduler's part: the single node takes every unassigned pod. A bound pod is what makes the API server
    // delete it gracefully (it waits for this runner) instead of at once.
    private async Task<bool> BindAsync(V1Pod pod, CancellationToken ct)
    {
        try
        {
            await _kube.CoreV1.CreateNamespacedPodBindingAsync(new V1Binding
            {
                Metadata = new V1ObjectMeta { Name = pod.Metadata.Name },
                Target = new V1ObjectReference { Kind = "Node", Name = Options.NodeName },
            }, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
            pod.Spec.NodeName = Options.NodeName;
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            return false; // bound elsewhere, being deleted or gone: the next resync sees which
        }
    }

    // What the kubelet does once a pod's containers are gone: delete it for good (grace 0, only this incarnation).
    private async Task FinishDeletionAsync(V1Pod pod, CancellationToken ct)
    {
        try
        {
            await _kube.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Already gone, or another incarnation by now.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var loop in _loops)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        foreach (var worker in _workers.Values.Where(w => !w.Terminating))
        {
            await worker.RemoveAsync();
        }
        foreach (var termination in _terminations.Values)
        {
            await termination.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        await DockerCleanup.SweepAsync(Docker, RunnerLabel + "=" + Options.NamePrefix);
        Docker.Dispose();
        if (_ownsStateDirectory)
        {
            try
            {
                Directory.Delete(StateDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Files written by a container as another user; the temp directory is swept by the OS.
            }
            catch (UnauthorizedAccessException)
            {
                // As above.
            }
        }
        _stop.Dispose();
    }
}
