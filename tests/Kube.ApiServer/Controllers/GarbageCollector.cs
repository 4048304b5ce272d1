using System.Text.Json.Nodes;
using Kube.ApiServer.Api;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Storage;

namespace Kube.ApiServer.Controllers;

/// <summary>
/// The garbage collector and namespace controller: deletes dependents whose owners are gone
/// (background), also a dependent created or updated after all its owners were gone, holds an owner in foregroundDeletion until its dependents are gone, strips owner
/// references for orphan deletion, and empties terminating namespaces. Called by the controller
/// loop only (one thread); each step is one store transaction.
/// </summary>
internal sealed class GarbageCollector
{
    private readonly ResourceService _service;

    public GarbageCollector(ResourceService service) => _service = service;

    public void OnEvent(WatchEvent e)
    {
        var obj = e.ParseObject();
        var meta = obj["metadata"] as JsonObject;
        if (meta is null)
        {
            return;
        }
        _service.Store.Transact(txn =>
        {
            if (e.Type == "DELETED")
            {
                CollectDependents(txn, meta["uid"]!.GetValue<string>());
                ReleaseForegroundOwners(txn, meta);
            }
            else if (meta["deletionTimestamp"] is null && meta["ownerReferences"] is JsonArray { Count: > 0 } owners
                && owners.All(o => OwnerAbsent(txn, o!.AsObject(), meta["namespace"]?.GetValue<string>() ?? "")))
            {
                // A dependent whose owners are all gone already (created, say, by a controller acting on a stale cache after
                // its owner was deleted): the garbage collector deletes it, as Kubernetes' does for dangling owners.
                _service.DeleteIn(txn, TypeOf(e.StorageKey)!, e.Namespace, e.Name, null);
            }
            else if (meta["deletionTimestamp"] is not null)
            {
                var finalizers = (meta["finalizers"] as JsonArray)?.Select(f => f!.GetValue<string>()).ToList() ?? [];
                if (e.StorageKey == "/namespaces")
                {
                    EmptyNamespace(txn, meta["name"]!.GetValue<string>());
                }
                else if (finalizers.Contains("orphan"))
                {
                    Orphan(txn, meta["uid"]!.GetValue<string>());
                    RemoveFinalizer(txn, e, "orphan");
                }
                else if (finalizers.Contains("foregroundDeletion"))
                {
                    var dependents = Dependents(txn, meta["uid"]!.GetValue<string>()).ToList();
                    if (dependents.Count == 0)
                    {
                        RemoveFinalizer(txn, e, "foregroundDeletion");
                    }
                    foreach (var (type, dep) in dependents)
                    {
                        if (dep["metadata"]?["deletionTimestamp"] is null)
                        {
                            _service.DeleteIn(txn, type, Ns(dep), Name(dep), new JsonObject { ["propagationPolicy"] = "Foreground" });
                        }
                    }
                }
            }
            return 0;
        });
    }

    private void CollectDependents(ObjectStore.Transaction txn, string uid)
    {
        foreach (var (type, dep) in Dependents(txn, uid).ToList())
        {
            var owners = dep["metadata"]!["ownerReferences"]!.AsArray();
            var remaining = owners.Where(o => o?["uid"]?.GetValue<string>() != uid && OwnerExists(txn, o!.AsObject(), Ns(dep))).ToList();
            if (remaining.Count == 0)
            {
                if (dep["metadata"]?["deletionTimestamp"] is null)
                {
                    _service.DeleteIn(txn, type, Ns(dep), Name(dep), null);
                }
            }
            else if (remaining.Count != owners.Count)
            {
                dep["metadata"]!["ownerReferences"] = new JsonArray(remaining.Select(r => r!.DeepClone()).ToArray());
                _service.UpdateIn(txn, type, Ns(dep), Name(dep), dep, status: false, allowCreate: false);
            }
        }
    }

    private void ReleaseForegroundOwners(ObjectStore.Transaction txn, JsonObject meta)
    {
        foreach (var owner in meta["ownerReferences"] as JsonArray ?? [])
        {
            var o = owner!.AsObject();
            var ownerType = _service.Registry.FindKind(o["apiVersion"]?.GetValue<string>() ?? "", o["kind"]?.GetValue<string>() ?? "");
            if (ownerType is null)
            {
                continue;
            }
            var ns = ownerType.Namespaced ? meta["namespace"]?.GetValue<string>() ?? "" : "";
            var ownerObj = txn.Get(ownerType.StorageKey, ns, o["name"]!.GetValue<string>());
            var finalizers = ownerObj?["metadata"]?["finalizers"] as JsonArray;
            if (ownerObj is not null && finalizers?.Any(f => f!.GetValue<string>() == "foregroundDeletion") == true
                && !Dependents(txn, ownerObj["metadata"]!["uid"]!.GetValue<string>()).Any())
            {
                ownerObj["metadata"]!["finalizers"] = new JsonArray(finalizers.Where(f => f!.GetValue<string>() != "foregroundDeletion").Select(f => f!.DeepClone()).ToArray());
                _service.UpdateIn(txn, ownerType, ns, Name(ownerObj), ownerObj, status: false, allowCreate: false);
            }
        }
    }

    private void Orphan(ObjectStore.Transaction txn, string uid)
    {
        foreach (var (type, dep) in Dependents(txn, uid).ToList())
        {
            var owners = dep["metadata"]!["ownerReferences"]!.AsArray();
            dep["metadata"]!["ownerReferences"] = new JsonArray(owners.Where(o => o?["uid"]?.GetValue<string>() != uid).Select(o => o!.DeepClone()).ToArray());
            _service.UpdateIn(txn, type, Ns(dep), Name(dep), dep, status: false, allowCreate: false);
        }
    }

    private void RemoveFinalizer(ObjectStore.Transaction txn, WatchEvent e, string finalizer)
    {
        var type = TypeOf(e.StorageKey);
        var current = type is null ? null : txn.Get(e.StorageKey, e.Namespace, e.Name);
        if (type is null || current?["metadata"]?["finalizers"] is not JsonArray finalizers)
        {
            return;
        }
        current["metadata"]!["finalizers"] = new JsonArray(finalizers.Where(f => f!.GetValue<string>() != finalizer).Select(f => f!.DeepClone()).ToArray());
        _service.UpdateIn(txn, type, e.Namespace, e.Name, current, status: false, allowCreate: false);
    }

    private void EmptyNamespace(ObjectStore.Transaction txn, string ns)
    {
        var contents = txn.All().Where(x => x.StorageKey != "/namespaces" && x.Object["metadata"]?["namespace"]?.GetValue<string>() == ns)
            .Select(x => (x.StorageKey, Name: Name(x.Object))).ToList();
        foreach (var (key, name) in contents)
        {
            if (TypeOf(key) is { } type)
            {
                _service.ForceRemove(txn, type, ns, name);
            }
        }
        if (TypeOf("/namespaces") is { } nsType)
        {
            _service.ForceRemove(txn, nsType, "", ns);
        }
    }

    private IEnumerable<(ResourceType Type, JsonObject Object)> Dependents(ObjectStore.Transaction txn, string uid)
    {
        foreach (var (key, obj) in txn.All())
        {
            if (obj["metadata"]?["ownerReferences"] is JsonArray owners && owners.Any(o => o?["uid"]?.GetValue<string>() == uid) && TypeOf(key) is { } type)
            {
                yield return (type, (JsonObject)obj.DeepClone());
            }
        }
    }

    private bool OwnerExists(ObjectStore.Transaction txn, JsonObject owner, string ns)
    {
        var type = _service.Registry.FindKind(owner["apiVersion"]?.GetValue<string>() ?? "", owner["kind"]?.GetValue<string>() ?? "");
        var found = type is null ? null : txn.Get(type.StorageKey, type.Namespaced ? ns : "", owner["name"]?.GetValue<string>() ?? "");
        return found?["metadata"]?["uid"]?.GetValue<string>() == owner["uid"]?.GetValue<string>();
    }

    /// <summary>The owner's kind is known and no object of it has the referenced uid (an unknown kind is not judged).</summary>
    private bool OwnerAbsent(ObjectStore.Transaction txn, JsonObject owner, string ns) =>
        _service.Registry.FindKind(owner["apiVersion"]?.GetValue<string>() ?? "", owner["kind"]?.GetValue<string>() ?? "") is not null
        && !OwnerExists(txn, owner, ns);

    private ResourceType? TypeOf(string storageKey) => _service.Registry.All.FirstOrDefault(r => r.StorageKey == storageKey);

    private static string Ns(JsonObject o) => o["metadata"]?["namespace"]?.GetValue<string>() ?? "";

    private static string Name(JsonObject o) => o["metadata"]!["name"]!.GetValue<string>();
}
