namespace Kube.PodRunner;

/// <summary>Start-up settings of <see cref="PodRunner"/>. Mutable until passed to StartAsync; not thread-safe.</summary>
public sealed class PodRunnerOptions
{
    /// <summary>Docker engine endpoint; null: DOCKER_HOST, else the local Unix socket.</summary>
    public Uri? DockerEndpoint { get; set; }

    /// <summary>Name of the node the runner plays; written to <c>spec.nodeName</c>-based fieldRefs and the pod status.</summary>
    public string NodeName { get; set; } = "podrunner-node";

    /// <summary>Prefix of every Docker name (network, containers, volumes); unique per runner so runners can share an engine.</summary>
    public string NamePrefix { get; set; } = "podrunner-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Labels put on every container, network and volume the runner creates, so leftovers can be swept.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary>IPv4 /24 of the cluster network (null: a free one in 172.20.0.0/14); pod IPs are given from its top down.</summary>
    public string? Subnet { get; set; }

    /// <summary>Kubernetes' cluster domain, the suffix of Service and Pod DNS names.</summary>
    public string ClusterDomain { get; set; } = "cluster.local";

    /// <summary>
    /// Image of the sandbox ("pause") container that owns a pod's network namespace, hostname and IP; it needs
    /// <c>/bin/sh</c> and <c>sleep</c>. The .NET runtime-deps image (or its local stand-in) has both.
    /// </summary>
    public string SandboxImage { get; set; } = "mcr.microsoft.com/dotnet/runtime-deps:10.0";

    /// <summary>Host directory for projected ConfigMap/Secret files and emptyDir volumes (null: a new temp directory).</summary>
    public string? StateDirectory { get; set; }

    /// <summary>How often everything is re-listed even when no watch event arrived.</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a pod's containers are inspected and its status refreshed.</summary>
    public TimeSpan PodSyncInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>First restart back-off after a container exits (the kubelet uses 10 s, doubling to 5 min).</summary>
    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Upper bound of the doubling restart and image back-offs.</summary>
    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromMinutes(5);
}
