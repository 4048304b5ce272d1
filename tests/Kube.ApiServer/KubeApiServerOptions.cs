namespace Kube.ApiServer;

/// <summary>Start-up settings of <see cref="KubeApiServer"/>. Mutable until passed to StartAsync; not thread-safe.</summary>
public sealed class KubeApiServerOptions
{
    /// <summary>TCP port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Clock for timestamps, ages and bookmark timers.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>How often a watch with allowWatchBookmarks=true gets a BOOKMARK (the apiserver uses about a minute).</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Committed events kept for watch resumption; older resourceVersions get 410 Gone.</summary>
    public int EventHistory { get; set; } = 10_000;

    /// <summary>Seed for generateName suffixes (null: unseeded).</summary>
    public int? RandomSeed { get; set; }

    /// <summary>Run the garbage collector, namespace and StatefulSet controllers.</summary>
    public bool RunControllers { get; set; } = true;

    /// <summary>Called with every resource request before it is handled (null: no auditing). Must be thread-safe.</summary>
    public Action<AuditEvent>? Audit { get; set; }
}
