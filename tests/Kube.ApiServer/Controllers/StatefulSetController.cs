using System.Globalization;
using System.Text.Json.Nodes;
using Kube.ApiServer.Api;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Http;
using Kube.ApiServer.Storage;

namespace Kube.ApiServer.Controllers;

/// <summary>
/// A minimal StatefulSet controller: keeps pods name-0..name-(replicas-1) (one at a time while a lower
/// ordinal is not Ready under OrderedReady), creates PVCs from volumeClaimTemplates, deletes pods above
/// the replica count and maintains status counts. <c>persistentVolumeClaimRetentionPolicy</c> works as in Kubernetes
/// (KEP-1847, GA in 1.32), through owner references the garbage collector follows: <c>whenDeleted: Delete</c> makes the
/// StatefulSet an owner of its claims, <c>whenScaled: Delete</c> makes a pod removed by a scale-down the owner of its
/// claims; with <c>Retain</c> those references are taken off again. Runs no containers: pods become Ready only when a
/// test says so. Called by the controller loop only (one thread).
/// </summary>
internal sealed class StatefulSetController
{
    private readonly ResourceService _service;

    public StatefulSetController(ResourceService service) => _service = service;

    public void OnEvent(WatchEvent e)
    {
        if (e.StorageKey == "apps/statefulsets" && e.Type != "DELETED")
        {
            Reconcile(e.Namespace, e.Name);
        }
        else if (e.StorageKey == "/pods")
        {
            var owner = (e.ParseObject()["metadata"]?["ownerReferences"] as JsonArray)?
                .FirstOrDefault(o => o?["kind"]?.GetValue<string>() == "StatefulSet" && o["controller"]?.GetValue<bool>() == true);
            if (owner is not null)
            {
                Reconcile(e.Namespace, owner["name"]!.GetValue<string>());
            }
        }
    }

    private void Reconcile(string ns, string name)
    {
        var stsType = Type("apps", "statefulsets");
        var podType = Type("", "pods");
        var pvcType = Type("", "persistentvolumeclaims");
        _service.Store.Transact(txn =>
        {
            var sts = txn.Get(stsType.StorageKey, ns, name);
            if (sts is null || sts["metadata"]?["deletionTimestamp"] is not null)
            {
                return 0;
            }
            var uid = sts["metadata"]!["uid"]!.GetValue<string>();
            var spec = sts["spec"]!.AsObject();
            var replicas = (int)(spec["replicas"]?.AsInt64() ?? 1);
            var ordered = spec["podManagementPolicy"]?.GetValue<string>() != "Parallel";
            var pods = txn.List(podType.StorageKey, ns)
                .Where(p => (p["metadata"]?["ownerReferences"] as JsonArray)?.Any(o => o?["uid"]?.GetValue<string>() == uid) == true)
                .ToDictionary(p => p["metadata"]!["name"]!.GetValue<string>());
            // spec.ordinals.start (GA in 1.31): pods are <name>-<start> .. <name>-<start + replicas - 1>.
            var start = (int)(spec["ordinals"]?["start"]?.AsInt64() ?? 0);
            for (var i = start; i < start + replicas; i++)
            {
                var podName = $"{name}-{i}";
                if (pods.TryGetValue(podName, out var existing))
                {
                    if (ordered && !IsReady(existing))
                    {
                        break;
                    }
                    continue;
                }
                CreateClaims(txn, pvcType, sts, i);
                UpdateClaimOwners(txn, pvcType, sts, i, condemnedPod: null);
                try
                {
                    pods[podName] = _service.CreateIn(txn, podType, ns, BuildPod(sts, i), dryRun: false);
                }
                catch (ApiError e)
                {
                    // As the real controller: the StatefulSet stays, its pods do not appear, and a Warning event says why.
                    RecordEvent(txn, sts, "FailedCreate", $"create Pod {podName} in StatefulSet {name} failed error: {e.Message}");
                    break;
                }

                if (ordered)
                {
                    break;
                }
            }
            foreach (var (podName, pod) in pods.OrderByDescending(p => Ordinal(p.Key)))
            {
                var ordinal = Ordinal(podName);
                var condemned = ordinal < start || ordinal >= start + replicas;
                UpdateClaimOwners(txn, pvcType, sts, ordinal, condemned ? pod : null);
                if (condemned && pod["metadata"]?["deletionTimestamp"] is null)
                {
                    _service.DeleteIn(txn, podType, ns, podName, null);
                    pods.Remove(podName);
                }
            }
            var ready = pods.Values.Count(IsReady);
            var status = (JsonObject)(sts["status"]?.DeepClone() ?? new JsonObject());
            status["observedGeneration"] = sts["metadata"]!["generation"]?.DeepClone();
            status["replicas"] = pods.Count;
            status["readyReplicas"] = ready;
            status["availableReplicas"] = ready;
            status["currentReplicas"] = pods.Count;
            status["updatedReplicas"] = pods.Count;
            status["currentRevision"] = $"{name}-{Revision(sts)}";
            status["updateRevision"] = $"{name}-{Revision(sts)}";
            status["collisionCount"] = 0;
            sts["status"] = status;
            _service.UpdateIn(txn, stsType, ns, name, sts, status: true, allowCreate: false);
            return 0;
        });
    }

    /// <summary>A Warning event on the StatefulSet; a repeat of the same reason and message bumps its count instead.</summary>
    private void RecordEvent(ObjectStore.Transaction txn, JsonObject sts, string reason, string message)
    {
        var eventType = Type("", "events");
        var ns = sts["metadata"]!["namespace"]!.GetValue<string>();
        var uid = sts["metadata"]!["uid"]!.GetValue<string>();
        var now = _service.Now();
        var existing = txn.List(eventType.StorageKey, ns).FirstOrDefault(e =>
            e["involvedObject"]?["uid"]?.GetValue<string>() == uid && e["reason"]?.GetValue<string>() == reason && e["message"]?.GetValue<string>() == message);
        if (existing is not null)
        {
            existing["count"] = (existing["count"]?.AsInt64() ?? 1) + 1;
            existing["lastTimestamp"] = now;
            _service.UpdateIn(txn, eventType, ns, existing["metadata"]!["name"]!.GetValue<string>(), existing, status: false, allowCreate: false);
            return;
        }

        var name = sts["metadata"]!["name"]!.GetValue<string>();
        _service.CreateIn(txn, eventType, ns, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            // Like the real recorder's <object>.<hex timestamp>; the global resourceVersion is as unique and deterministic.
            ["metadata"] = new JsonObject
            {
                ["name"] = string.Create(CultureInfo.InvariantCulture, $"{name}.{txn.CurrentResourceVersion + 1:x}"),
                ["namespace"] = ns,
            },
            ["involvedObject"] = new JsonObject
            {
                ["apiVersion"] = "apps/v1",
                ["kind"] = "StatefulSet",
                ["name"] = name,
                ["namespace"] = ns,
                ["uid"] = uid,
                ["resourceVersion"] = sts["metadata"]!["resourceVersion"]?.DeepClone(),
            },
            ["reason"] = reason,
            ["message"] = message,
            ["type"] = "Warning",
            ["count"] = 1,
            ["firstTimestamp"] = now,
            ["lastTimestamp"] = now,
            ["source"] = new JsonObject { ["component"] = "statefulset-controller" },
            ["reportingComponent"] = "statefulset-controller",
        }, dryRun: false);
    }

    private void CreateClaims(ObjectStore.Transaction txn, ResourceType pvcType, JsonObject sts, int ordinal)
    {
        var ns = sts["metadata"]!["namespace"]!.GetValue<string>();
        var name = sts["metadata"]!["name"]!.GetValue<string>();
        foreach (var template in sts["spec"]?["volumeClaimTemplates"] as JsonArray ?? [])
        {
            var claimName = $"{template!["metadata"]!["name"]!.GetValue<string>()}-{name}-{ordinal}";
            if (txn.Get(pvcType.StorageKey, ns, claimName) is not null)
            {
                continue;
            }
            var pvc = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "PersistentVolumeClaim",
                ["metadata"] = new JsonObject
                {
                    ["name"] = claimName,
                    ["namespace"] = ns,
                    ["labels"] = sts["spec"]?["selector"]?["matchLabels"]?.DeepClone() ?? new JsonObject(),
                },
                ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject(),
            };
            _service.CreateIn(txn, pvcType, ns, pvc, dryRun: false);
        }
    }

    /// <summary>
    /// Keeps the owner references of one ordinal's claims in step with the retention policy: the StatefulSet owns them
    /// under <c>whenDeleted: Delete</c>; <paramref name="condemnedPod"/> (a pod being scaled away) owns them under
    /// <c>whenScaled: Delete</c>. References the policy no longer asks for are removed; claims of other owners untouched.
    /// </summary>
    private void UpdateClaimOwners(ObjectStore.Transaction txn, ResourceType pvcType, JsonObject sts, int ordinal, JsonObject? condemnedPod)
    {
        var ns = sts["metadata"]!["namespace"]!.GetValue<string>();
        var name = sts["metadata"]!["name"]!.GetValue<string>();
        var policy = sts["spec"]?["persistentVolumeClaimRetentionPolicy"];
        var setOwns = policy?["whenDeleted"]?.GetValue<string>() == "Delete";
        var podOwns = condemnedPod is not null && policy?["whenScaled"]?.GetValue<string>() == "Delete";
        var setUid = sts["metadata"]!["uid"]!.GetValue<string>();
        var podUid = condemnedPod?["metadata"]?["uid"]?.GetValue<string>();
        foreach (var template in sts["spec"]?["volumeClaimTemplates"] as JsonArray ?? [])
        {
            var claimName = $"{template!["metadata"]!["name"]!.GetValue<string>()}-{name}-{ordinal}";
            if (txn.Get(pvcType.StorageKey, ns, claimName) is not { } claim)
            {
                continue;
            }
            var owners = claim["metadata"]?["ownerReferences"] as JsonArray ?? [];
            var wanted = owners.Where(o => o?["uid"]?.GetValue<string>() is { } uid && uid != setUid && uid != podUid)
                .Select(o => o!.DeepClone()).ToList();
            if (setOwns)
            {
                wanted.Add(OwnerReference("apps/v1", "StatefulSet", name, setUid));
            }
            if (podOwns)
            {
                wanted.Add(OwnerReference("v1", "Pod", condemnedPod!["metadata"]!["name"]!.GetValue<string>(), podUid!));
            }
            if (owners.Count == wanted.Count && owners.Zip(wanted).All(pair => JsonNode.DeepEquals(pair.First, pair.Second)))
            {
                continue;
            }
            claim["metadata"]!["ownerReferences"] = wanted.Count == 0 ? null : new JsonArray([.. wanted]);
            _service.UpdateIn(txn, pvcType, ns, claimName, claim, status: false, allowCreate: false);
        }
    }

    private static JsonObject OwnerReference(string apiVersion, string kind, string name, string uid) => new()
    {
        ["apiVersion"] = apiVersion,
        ["kind"] = kind,
        ["name"] = name,
        ["uid"] = uid,
        ["blockOwnerDeletion"] = true,
    };

    private static JsonObject BuildPod(JsonObject sts, int ordinal)
    {
        var meta = sts["metadata"]!;
        var name = meta["name"]!.GetValue<string>();
        var podName = $"{name}-{ordinal}";
        var template = sts["spec"]!["template"]!;
        var labels = (JsonObject)(template["metadata"]?["labels"]?.DeepClone() ?? new JsonObject());
        labels["statefulset.kubernetes.io/pod-name"] = podName;
        labels["apps.kubernetes.io/pod-index"] = ordinal.ToString(CultureInfo.InvariantCulture);
        labels["controller-revision-hash"] = $"{name}-{Revision(sts)}";
        var spec = (JsonObject)(template["spec"]?.DeepClone() ?? new JsonObject());
        spec["hostname"] = podName;
        if (sts["spec"]?["serviceName"]?.GetValue<string>() is { Length: > 0 } service)
        {
            spec["subdomain"] = service;
        }
        var volumes = spec["volumes"] as JsonArray ?? new JsonArray();
        foreach (var claim in sts["spec"]?["volumeClaimTemplates"] as JsonArray ?? [])
        {
            var claimName = claim!["metadata"]!["name"]!.GetValue<string>();
            if (!volumes.Any(v => v?["name"]?.GetValue<string>() == claimName))
            {
                volumes.Add(new JsonObject
                {
                    ["name"] = claimName,
                    ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = $"{claimName}-{name}-{ordinal}" },
                });
            }
        }
        if (volumes.Count > 0)
        {
            spec["volumes"] = volumes;
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = podName,
                ["namespace"] = meta["namespace"]!.DeepClone(),
                ["labels"] = labels,
                ["annotations"] = template["metadata"]?["annotations"]?.DeepClone(),
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "apps/v1",
                    ["kind"] = "StatefulSet",
                    ["name"] = name,
                    ["uid"] = meta["uid"]!.DeepClone(),
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
            },
            ["spec"] = spec,
        };
    }

    /// <summary>A stable hash of the pod template, standing in for the ControllerRevision name.</summary>
    private static string Revision(JsonObject sts)
    {
        var text = sts["spec"]?["template"]?.ToJsonString(JsonOptions.Compact) ?? "";
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        return Convert.ToHexStringLower(hash)[..10];
    }

    internal static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray)?.Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") == true;

    private static int Ordinal(string podName) =>
        int.TryParse(podName[(podName.LastIndexOf('-') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : -1;

    private ResourceType Type(string group, string plural) => _service.Registry.Find(group, "v1", plural)!;
}
