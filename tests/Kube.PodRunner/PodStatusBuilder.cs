using k8s.Models;

namespace Kube.PodRunner;

/// <summary>
/// The pod status the kubelet would report from its containers' states: phase, IPs, start time, container statuses
/// and the PodScheduled / Initialized / ContainersReady / Ready conditions (transition times kept while a condition's
/// status holds). Pure apart from the clock and the caller's condition history. Not thread-safe: one pod worker.
/// </summary>
internal static class PodStatusBuilder
{
    public static V1PodStatus Build(V1Pod pod, IReadOnlyList<ContainerSlot> init, IReadOnlyList<ContainerSlot> app, string? podIp, string hostIp,
        DateTime? startTime, string? message, Dictionary<string, (string Status, DateTime Since)> history)
    {
        var initialized = init.All(s => s.Done && s.State.Terminated?.ExitCode == 0);
        var initFailed = init.Any(s => s.Done && s.State.Terminated?.ExitCode != 0);
        var containersReady = initialized && app.All(s => s.Ready);
        string phase;
        if (initFailed)
        {
            phase = "Failed";
        }
        else if (initialized && app.All(s => s.Done))
        {
            phase = app.All(s => s.State.Terminated?.ExitCode == 0) ? "Succeeded" : "Failed";
        }
        else if (initialized && app.All(s => s.Id is not null))
        {
            phase = "Running";
        }
        else
        {
            phase = "Pending";
        }

        var conditions = new List<V1PodCondition>
        {
            Condition("PodScheduled", true, null, history),
            Condition("Initialized", initialized, initialized ? null : "ContainersNotInitialized", history),
            Condition("ContainersReady", containersReady, containersReady ? null : "ContainersNotReady", history),
            Condition("Ready", containersReady, containersReady ? null : "ContainersNotReady", history),
        };

        return new V1PodStatus
        {
            Phase = phase,
            Message = message,
            PodIP = podIp,
            PodIPs = podIp is null ? null : [new V1PodIP { Ip = podIp }],
            HostIP = hostIp,
            HostIPs = [new V1HostIP { Ip = hostIp }],
            StartTime = startTime,
            Conditions = conditions,
            InitContainerStatuses = init.Count == 0 ? null : [.. init.Select(Status)],
            ContainerStatuses = [.. app.Select(Status)],
        };
    }

    private static V1ContainerStatus Status(ContainerSlot slot) => new()
    {
        Name = slot.Spec.Name,
        Image = slot.Spec.Image,
        ImageID = slot.ImageId,
        ContainerID = slot.Id is null ? null : "docker://" + slot.Id,
        Ready = slot.Ready,
        Started = slot.Started,
        RestartCount = slot.RestartCount,
        State = slot.State,
        LastState = slot.LastState ?? new V1ContainerState(),
    };

    private static V1PodCondition Condition(string type, bool value, string? reason, Dictionary<string, (string Status, DateTime Since)> history)
    {
        var status = value ? "True" : "False";
        if (!history.TryGetValue(type, out var previous) || previous.Status != status)
        {
            previous = (status, DateTime.UtcNow);
            history[type] = previous;
        }
        return new V1PodCondition { Type = type, Status = status, Reason = reason, LastTransitionTime = previous.Since };
    }
}
