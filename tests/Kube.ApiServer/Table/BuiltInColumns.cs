using System.Globalization;
using System.Text.Json.Nodes;

namespace Kube.ApiServer.Table;

/// <summary>One server-side column of a built-in kind, computed from the object as the apiserver's printers do.</summary>
internal sealed record ComputedColumn(string Name, string Type, int Priority, string Description, Func<JsonObject, JsonNode?> Cell)
{
    /// <summary>For time columns (Age, Last Seen): the timestamp shown as a human duration by the converter.</summary>
    public string? DatePath { get; init; }
}

/// <summary>
/// The columns <c>kubectl get</c> shows for the built-in kinds people look at most (pkg/printers/internalversion):
/// pods, statefulsets, deployments, services, configmaps, secrets, persistentvolumeclaims, namespaces, events.
/// Other kinds show Name and Age. "Age" cells are filled by the converter. Stateless; thread-safe.
/// </summary>
internal static class BuiltInColumns
{
    private const string AgeDescription = "CreationTimestamp is a timestamp representing the server time when this object was created.";

    public static IReadOnlyList<ComputedColumn>? For(string group, string plural) => (group, plural) switch
    {
        ("", "pods") =>
        [
            new("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic.", PodReady),
            new("Status", "string", 0, "The aggregate status of the containers in this pod.", PodStatus),
            new("Restarts", "string", 0, "The number of times the containers in this pod have been restarted.", PodRestarts),
            Age(),
            new("IP", "string", 1, "The IP address assigned to the pod.", o => Text(o["status"]?["podIP"]) ?? "<none>"),
            new("Node", "string", 1, "The name of the node to which the pod is assigned.", o => Text(o["spec"]?["nodeName"]) ?? "<none>"),
        ],
        ("apps", "statefulsets") =>
        [
            new("Ready", "string", 0, "Number of the pod with ready state.", o => $"{Int(o["status"]?["readyReplicas"])}/{Int(o["spec"]?["replicas"], 1)}"),
            Age(),
        ],
        ("apps", "deployments") =>
        [
            new("Ready", "string", 0, "Number of the pod with ready state.", o => $"{Int(o["status"]?["readyReplicas"])}/{Int(o["spec"]?["replicas"], 1)}"),
            new("Up-to-date", "integer", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", o => Int(o["status"]?["updatedReplicas"])),
            new("Available", "integer", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", o => Int(o["status"]?["availableReplicas"])),
            Age(),
        ],
        ("", "services") =>
        [
            new("Type", "string", 0, "The type of the service.", o => Text(o["spec"]?["type"]) ?? "ClusterIP"),
            new("Cluster-IP", "string", 0, "The cluster IP of the service.", o => Text(o["spec"]?["clusterIP"]) is { Length: > 0 } ip ? ip : "<none>"),
            new("External-IP", "string", 0, "The external IP of the service.", ServiceExternalIp),
            new("Port(s)", "string", 0, "The ports of the service.", ServicePorts),
            Age(),
        ],
        ("", "configmaps") =>
        [
            new("Data", "integer", 0, "Number of data entries.", o => Count(o["data"]) + Count(o["binaryData"])),
            Age(),
        ],
        ("", "secrets") =>
        [
            new("Type", "string", 0, "The type of the secret.", o => Text(o["type"]) ?? "Opaque"),
            new("Data", "integer", 0, "Number of data entries.", o => Count(o["data"])),
            Age(),
        ],
        ("", "persistentvolumeclaims") =>
        [
            new("Status", "string", 0, "The phase of the claim.", o => Text(o["status"]?["phase"]) ?? "Pending"),
            new("Volume", "string", 0, "The volume bound to the claim.", o => Text(o["spec"]?["volumeName"]) ?? ""),
            new("Capacity", "string", 0, "The capacity of the bound volume.", o => Text(o["status"]?["capacity"]?["storage"]) ?? ""),
            new("Access Modes", "string", 0, "The access modes of the bound volume.", PvcAccessModes),
            new("StorageClass", "string", 0, "The storage class of the claim.", o => Text(o["spec"]?["storageClassName"]) ?? "<unset>"),
            Age(),
        ],
        ("", "namespaces") =>
        [
            new("Status", "string", 0, "The status of the namespace.", o => Text(o["status"]?["phase"]) ?? "Active"),
            Age(),
        ],
        ("", "events") =>
        [
            new("Last Seen", "string", 0, "The time the event was last seen.", _ => null) { DatePath = ".lastTimestamp" },
            new("Type", "string", 0, "The type of the event.", o => Text(o["type"]) ?? ""),
            new("Reason", "string", 0, "The reason of the event.", o => Text(o["reason"]) ?? ""),
            new("Object", "string", 0, "The object the event is about.", o => $"{(Text(o["involvedObject"]?["kind"]) ?? "").ToLowerInvariant()}/{Text(o["involvedObject"]?["name"])}"),
            new("Message", "string", 0, "The message of the event.", o => Text(o["message"]) ?? ""),
        ],
        _ => null,
    };

    private static ComputedColumn Age() => new("Age", "string", 0, AgeDescription, _ => null) { DatePath = ".metadata.creationTimestamp" };

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static long Int(JsonNode? node, long absent = 0) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : absent;

    private static int Count(JsonNode? node) => node is JsonObject o ? o.Count : 0;

    private static JsonNode PodReady(JsonObject pod)
    {
        var total = (pod["spec"]?["containers"] as JsonArray)?.Count ?? 0;
        var ready = (pod["status"]?["containerStatuses"] as JsonArray)?.Count(s => s?["ready"] is JsonValue r && r.TryGetValue<bool>(out var b) && b) ?? 0;
        return $"{ready}/{total}";
    }

    /// <summary>The phase, or the pod's reason, or Terminating once a deletion is pending (the printer's order).</summary>
    private static JsonNode PodStatus(JsonObject pod)
    {
        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            return "Terminating";
        }

        foreach (var status in pod["status"]?["containerStatuses"] as JsonArray ?? [])
        {
            if (Text(status?["state"]?["waiting"]?["reason"]) is { Length: > 0 } waiting)
            {
                return waiting;
            }
        }

        return Text(pod["status"]?["reason"]) ?? Text(pod["status"]?["phase"]) ?? "Pending";
    }

    private static JsonNode PodRestarts(JsonObject pod) =>
        ((pod["status"]?["containerStatuses"] as JsonArray)?.Sum(s => Int(s?["restartCount"])) ?? 0).ToString(CultureInfo.InvariantCulture);

    private static JsonNode ServiceExternalIp(JsonObject service)
    {
        var type = Text(service["spec"]?["type"]) ?? "ClusterIP";
        var ingress = (service["status"]?["loadBalancer"]?["ingress"] as JsonArray)?
            .Select(i => Text(i?["ip"]) ?? Text(i?["hostname"])).Where(s => s is not null).ToList() ?? [];
        return type switch
        {
            "ExternalName" => Text(service["spec"]?["externalName"]) ?? "<none>",
            "LoadBalancer" => ingress.Count > 0 ? string.Join(",", ingress) : "<pending>",
            _ => "<none>",
        };
    }

    private static JsonNode ServicePorts(JsonObject service)
    {
        var ports = (service["spec"]?["ports"] as JsonArray ?? []).Select(p =>
        {
            var text = Int(p?["port"]).ToString(CultureInfo.InvariantCulture);
            if (p?["nodePort"] is { } nodePort)
            {
                text += ":" + Int(nodePort).ToString(CultureInfo.InvariantCulture);
            }

            return text + "/" + (Text(p?["protocol"]) ?? "TCP");
        }).ToList();
        return ports.Count == 0 ? "<none>" : string.Join(",", ports);
    }

    private static JsonNode PvcAccessModes(JsonObject pvc)
    {
        var modes = (pvc["status"]?["accessModes"] as JsonArray ?? []).Select(m => Text(m) switch
        {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            var other => other,
        });
        return string.Join(",", modes);
    }
}
