using System.Text.Json.Nodes;
using Kube.ApiServer.Discovery;

namespace Kube.ApiServer.Api;

/// <summary>
/// The defaulting and create-time status reset the apiserver applies to built-in kinds (the part
/// that shows in what clients read back). Owned by the store transaction that calls it.
/// </summary>
internal sealed class ObjectDefaults
{
    private int _nextClusterIp = 10;

    public void OnCreate(ResourceType type, JsonObject obj)
    {
        var spec = obj["spec"] as JsonObject;
        switch (type.Group, type.Plural)
        {
            case ("", "namespaces"):
                obj["spec"] ??= new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                obj["status"] = new JsonObject { ["phase"] = "Active" };
                var labels = Labels(obj);
                labels["kubernetes.io/metadata.name"] = obj["metadata"]!["name"]!.GetValue<string>();
                break;
            case ("", "pods"):
                obj["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = "BestEffort" };
                DefaultPodSpec(spec);
                break;
            case ("", "services"):
                DefaultService(spec ??= new JsonObject());
                obj["spec"] = spec;
                obj["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
                break;
            case ("", "secrets"):
                obj["type"] ??= "Opaque";
                if (obj["stringData"] is JsonObject stringData)
                {
                    var data = obj["data"] as JsonObject ?? new JsonObject();
                    foreach (var (k, v) in stringData)
                    {
                        data[k] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(v?.GetValue<string>() ?? ""));
                    }
                    obj["data"] = data;
                    obj.Remove("stringData");
                }
                break;
            case ("apps", "statefulsets"):
                spec ??= new JsonObject();
                spec["replicas"] ??= 1;
                spec["podManagementPolicy"] ??= "OrderedReady";
                spec["updateStrategy"] ??= new JsonObject { ["type"] = "RollingUpdate", ["rollingUpdate"] = new JsonObject { ["partition"] = 0 } };
                spec["revisionHistoryLimit"] ??= 10;
                spec["persistentVolumeClaimRetentionPolicy"] ??= new JsonObject { ["whenDeleted"] = "Retain", ["whenScaled"] = "Retain" };
                DefaultPodSpec(spec["template"]?["spec"] as JsonObject);
                obj["status"] = new JsonObject { ["replicas"] = 0, ["availableReplicas"] = 0 };
                break;
            case ("apps", "deployments"):
                spec ??= new JsonObject();
                spec["replicas"] ??= 1;
                spec["revisionHistoryLimit"] ??= 10;
                spec["progressDeadlineSeconds"] ??= 600;
                DefaultPodSpec(spec["template"]?["spec"] as JsonObject);
                obj["status"] = new JsonObject();
                break;
            default:
                if (type.HasStatus)
                {
                    obj.Remove("status");
                }
                break;
        }
    }

    private static JsonObject Labels(JsonObject obj)
    {
        var meta = obj["metadata"]!.AsObject();
        if (meta["labels"] is not JsonObject labels)
        {
            labels = new JsonObject();
            meta["labels"] = labels;
        }
        return labels;
    }

    private void DefaultService(JsonObject spec)
    {
        spec["type"] ??= "ClusterIP";
        spec["sessionAffinity"] ??= "None";
        var type = spec["type"]!.GetValue<string>();
        if (type != "ExternalName")
        {
            var ip = spec["clusterIP"]?.GetValue<string>();
            if (string.IsNullOrEmpty(ip))
            {
                ip = $"10.96.{_nextClusterIp / 250}.{_nextClusterIp % 250 + 1}";
                _nextClusterIp++;
                spec["clusterIP"] = ip;
            }
            spec["clusterIPs"] ??= new JsonArray(ip);
            spec["ipFamilies"] ??= new JsonArray(ip == "None" ? "IPv4" : "IPv4");
            spec["ipFamilyPolicy"] ??= "SingleStack";
            spec["internalTrafficPolicy"] ??= "Cluster";
        }
        if (spec["ports"] is JsonArray ports)
        {
            foreach (var p in ports.OfType<JsonObject>())
            {
                p["protocol"] ??= "TCP";
                p["targetPort"] ??= p["port"]?.DeepClone();
            }
        }
    }

    private static void DefaultPodSpec(JsonObject? spec)
    {
        if (spec is null)
        {
            return;
        }
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["schedulerName"] ??= "default-scheduler";
        spec["securityContext"] ??= new JsonObject();
        foreach (var c in (spec["containers"] as JsonArray ?? []).Concat(spec["initContainers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            c["terminationMessagePath"] ??= "/dev/termination-log";
            c["terminationMessagePolicy"] ??= "File";
            c["imagePullPolicy"] ??= c["image"]?.GetValue<string>()?.EndsWith(":latest", StringComparison.Ordinal) == true
                || c["image"]?.GetValue<string>()?.Contains(':', StringComparison.Ordinal) == false ? "Always" : "IfNotPresent";
            c["resources"] ??= new JsonObject();
            if (c["ports"] is JsonArray ports)
            {
                foreach (var p in ports.OfType<JsonObject>())
                {
                    p["protocol"] ??= "TCP";
                }
            }
        }
    }
}
