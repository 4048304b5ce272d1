using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// What the runner knows about one container of a pod: its Docker id, restarts and back-off, probe states and the
/// state it reports. A restart starts the same Docker container again (its log continues; unlike the kubelet its
/// writable layer is kept). Owned by one pod worker.
/// </summary>
internal sealed class ContainerSlot(V1Container spec, bool isInit)
{
    public V1Container Spec { get; } = spec;

    public bool IsInit { get; } = isInit;

    public string? Id { get; set; }

    public string ImageId { get; set; } = "";

    public int RestartCount { get; set; }

    /// <summary>Not before this time is the container (re)started or its image looked up again.</summary>
    public DateTimeOffset NextAttempt { get; set; }

    public int BackoffStep { get; set; }

    public int ImageFailures { get; set; }

    public V1ContainerState State { get; set; } = Waiting("ContainerCreating", null);

    public V1ContainerState? LastState { get; set; }

    /// <summary>An init container that succeeded, or a container that exited and will not be restarted.</summary>
    public bool Done { get; set; }

    public ProbeState? Readiness { get; set; }

    public ProbeState? Liveness { get; set; }

    public ProbeState? Startup { get; set; }

    public bool IsRunning => State.Running is not null;

    public bool Started => IsRunning && (Startup?.Result ?? true);

    public bool Ready => Started && !IsInit && (Readiness?.Result ?? true);

    /// <summary>Fresh probe states for a container that just (re)started.</summary>
    public void ResetProbes(DateTimeOffset startedAt)
    {
        Readiness = Spec.ReadinessProbe is { } r ? new ProbeState(r, initialResult: false) : null;
        Liveness = Spec.LivenessProbe is { } l ? new ProbeState(l, initialResult: true) : null;
        Startup = Spec.StartupProbe is { } s ? new ProbeState(s, initialResult: false) : null;
        foreach (var probe in new[] { Readiness, Liveness, Startup })
        {
            if (probe is not null)
            {
                probe.NextRun = startedAt + probe.InitialDelay;
            }
        }
    }

    public static V1ContainerState Waiting(string reason, string? message) =>
        new() { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } };
}
