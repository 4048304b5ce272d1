using System.Text.Json.Nodes;
using Kube.ApiServer.Api;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Http;
using Kube.ApiServer.Storage;
using Kube.ApiServer.Validation;

namespace Kube.ApiServer.Patch;

/// <summary>
/// managedFields bookkeeping and server-side apply: each manager owns the leaf fields it set; an
/// apply that changes a field another manager owns conflicts (409) unless forced; fields a manager
/// stops applying are removed when nobody else owns them. A pragmatic subset of structured-merge-diff
/// (no per-version conversion, no unions, no granular atomic maps). Thread-safe: work runs in store transactions.
/// </summary>
internal sealed class ServerSideApply
{
    private readonly ResourceService _service;

    public ServerSideApply(ResourceService service) => _service = service;

    /// <summary>Records an Update-operation write by <paramref name="manager"/>: it takes over every field it changed.</summary>
    public void Track(ResourceType type, JsonObject? old, JsonObject updated, string manager, string? sub)
    {
        var status = sub == "status";
        var schema = type.Custom?.Schema;
        var custom = type.Custom is not null;
        var newSet = FieldSet.Extract(updated, schema, custom, status);
        var changed = newSet.Where(p => old is null || !JsonNode.DeepEquals(FieldSet.ValueAt(old, p), FieldSet.ValueAt(updated, p))).ToHashSet(StringComparer.Ordinal);
        var entries = Entries(old ?? updated);
        if (old is null)
        {
            entries.Clear();
        }
        foreach (var e in entries.Where(e => e.Subresource == (sub ?? "")))
        {
            e.Fields.ExceptWith(changed);
            e.Fields.IntersectWith(newSet);
        }
        if (changed.Count > 0)
        {
            var mine = entries.FirstOrDefault(e => e.Manager == manager && e.Operation == "Update" && e.Subresource == (sub ?? ""));
            if (mine is null)
            {
                mine = new Entry(manager, "Update", sub ?? "", type.GroupVersion, new HashSet<string>(StringComparer.Ordinal), _service.Now());
                entries.Add(mine);
            }
            mine.Fields.UnionWith(changed);
            mine.Time = _service.Now();
        }
        Store(updated, entries, old);
    }

    public JsonObject Apply(ResourceType type, string ns, string name, JsonObject config, string manager, bool force, string? sub, FieldCheck? fields = null) =>
        _service.Store.Transact(txn => ApplyIn(txn, type, ns, name, config, manager, force, sub, fields));

    private JsonObject ApplyIn(ObjectStore.Transaction txn, ResourceType type, string ns, string name, JsonObject config, string manager, bool force, string? sub,
        FieldCheck? fields)
    {
        var status = sub == "status";
        var schema = type.Custom?.Schema;
        var custom = type.Custom is not null;
        config = (JsonObject)config.DeepClone();
        var meta = config["metadata"] as JsonObject ?? new JsonObject();
        config["metadata"] = meta;
        meta.Remove("managedFields");
        if (string.IsNullOrEmpty(meta["name"]?.GetValue<string>()))
        {
            meta["name"] = name;
        }
        var newSet = FieldSet.Extract(config, schema, custom, status);
        var live = txn.Get(type.StorageKey, ResourceService.NsKey(type, ns), name);
        if (live is null)
        {
            if (status)
            {
                throw ApiError.NotFound(type, name);
            }
            var entry = new Entry(manager, "Apply", "", type.GroupVersion, newSet, _service.Now());
            Store(config, [entry], null);
            return _service.CreateIn(txn, type, ns, config, dryRun: false, fields: fields);
        }
        var entries = Entries(live);
        var conflicts = new List<(string Manager, string Field)>();
        var subKey = sub ?? "";
        foreach (var e in entries.Where(e => !(e.Manager == manager && e.Operation == "Apply") && e.Subresource == subKey))
        {
            foreach (var p in e.Fields.Intersect(newSet).OrderBy(p => p, StringComparer.Ordinal))
            {
                if (!p.EndsWith("\n.", StringComparison.Ordinal) && !JsonNode.DeepEquals(FieldSet.ValueAt(config, p), FieldSet.ValueAt(live, p)))
                {
                    conflicts.Add((e.Manager, p));
                }
            }
        }
        if (conflicts.Count > 0)
        {
            if (!force)
            {
                throw ApiError.ApplyConflict(type, name, conflicts.Select(c => (c.Manager, FieldSet.Render(c.Field))).ToList());
            }
            foreach (var e in entries)
            {
                e.Fields.ExceptWith(conflicts.Select(c => c.Field));
            }
        }
        var mine = entries.FirstOrDefault(e => e.Manager == manager && e.Operation == "Apply" && e.Subresource == subKey);
        var othersOwn = entries.Where(e => e != mine).SelectMany(e => e.Fields).ToHashSet(StringComparer.Ordinal);
        var merged = (JsonObject)live.DeepClone();
        if (mine is not null)
        {
            foreach (var gone in mine.Fields.Except(newSet).Where(p => !othersOwn.Contains(p)).OrderByDescending(p => p.Length))
            {
                FieldSet.RemoveAt(merged, gone);
            }
        }
        merged = Merge(merged, config, schema, custom, status);
        if (mine is null)
        {
            mine = new Entry(manager, "Apply", subKey, type.GroupVersion, newSet, _service.Now());
            entries.Add(mine);
        }
        else if (!mine.Fields.SetEquals(newSet))
        {
            mine.Fields.Clear();
            mine.Fields.UnionWith(newSet);
            mine.Time = _service.Now();
        }
        Store(merged, entries, live);
        if (config["metadata"]?["resourceVersion"] is { } rv)
        {
            merged["metadata"]!["resourceVersion"] = rv.DeepClone();
        }
        return _service.UpdateIn(txn, type, ns, name, merged, status, allowCreate: false, manager: null, fields);
    }

    private static JsonObject Merge(JsonObject live, JsonObject config, JsonObject? schema, bool custom, bool status)
    {
        foreach (var (key, value) in config)
        {
            if (key is "apiVersion" or "kind" || (key == "status") != status && key != "metadata")
            {
                continue;
            }
            live[key] = MergeNode(live[key], value, key, key == "metadata" ? null : schema?["properties"]?[key] as JsonObject, custom);
        }
        return live;
    }

    private static JsonNode? MergeNode(JsonNode? live, JsonNode? cfg, string field, JsonObject? schema, bool custom)
    {
        switch (live, cfg)
        {
            case (JsonObject lo, JsonObject co):
                var result = (JsonObject)lo.DeepClone();
                foreach (var (k, v) in co)
                {
                    var child = schema?["properties"]?[k] as JsonObject ?? schema?["additionalProperties"] as JsonObject;
                    result[k] = MergeNode(result[k]?.DeepClone(), v, k, child, custom);
                }
                return result;
            case (JsonArray la, JsonArray ca):
                var (kind, keys) = ListKeys.For(field, ca.Count > 0 ? ca : la, schema, custom);
                if (kind == ListKind.Map)
                {
                    var list = (JsonArray)la.DeepClone();
                    foreach (var item in ca.OfType<JsonObject>())
                    {
                        var i = ListKeys.IndexOf(list, item, keys);
                        if (i >= 0)
                        {
                            list[i] = MergeNode(list[i]?.DeepClone(), item, field, schema?["items"] as JsonObject, custom);
                        }
                        else
                        {
                            list.Add(item.DeepClone());
                        }
                    }
                    return list;
                }
                if (kind == ListKind.Set)
                {
                    var list = (JsonArray)la.DeepClone();
                    foreach (var item in ca)
                    {
                        if (!list.Any(x => JsonNode.DeepEquals(x, item)))
                        {
                            list.Add(item?.DeepClone());
                        }
                    }
                    return list;
                }
                return ca.DeepClone();
            default:
                return cfg?.DeepClone();
        }
    }

    private static List<Entry> Entries(JsonObject obj)
    {
        var list = new List<Entry>();
        foreach (var mf in obj["metadata"]?["managedFields"] as JsonArray ?? [])
        {
            list.Add(new Entry(
                mf?["manager"]?.GetValue<string>() ?? "",
                mf?["operation"]?.GetValue<string>() ?? "Update",
                mf?["subresource"]?.GetValue<string>() ?? "",
                mf?["apiVersion"]?.GetValue<string>() ?? "",
                FieldSet.FromFieldsV1(mf?["fieldsV1"] as JsonObject),
                mf?["time"]?.GetValue<string>() ?? ""));
        }
        return list;
    }

    private static void Store(JsonObject obj, List<Entry> entries, JsonObject? old)
    {
        var array = new JsonArray();
        foreach (var e in entries.Where(e => e.Fields.Count > 0))
        {
            var node = new JsonObject
            {
                ["manager"] = e.Manager,
                ["operation"] = e.Operation,
                ["apiVersion"] = e.ApiVersion,
                ["time"] = e.Time,
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = FieldSet.ToFieldsV1(e.Fields),
            };
            if (e.Subresource.Length > 0)
            {
                node["subresource"] = e.Subresource;
            }
            array.Add(node);
        }
        var meta = obj["metadata"]!.AsObject();
        if (old?["metadata"]?["managedFields"] is { } previous && JsonNode.DeepEquals(previous, array))
        {
            meta["managedFields"] = previous.DeepClone();
            return;
        }
        meta["managedFields"] = array;
    }

    /// <summary>One managedFields entry. Mutable; owned by one transaction.</summary>
    private sealed class Entry(string manager, string operation, string subresource, string apiVersion, HashSet<string> fields, string time)
    {
        public string Manager { get; } = manager;
        public string Operation { get; } = operation;
        public string Subresource { get; } = subresource;
        public string ApiVersion { get; } = apiVersion;
        public HashSet<string> Fields { get; } = fields;
        public string Time { get; set; } = time;
    }
}
