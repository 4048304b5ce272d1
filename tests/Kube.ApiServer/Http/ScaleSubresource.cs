using System.Text.Json.Nodes;
using Kube.ApiServer.Api;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Patch;
using Kube.ApiServer.Table;

namespace Kube.ApiServer.Http;

/// <summary>The scale subresource (autoscaling/v1 Scale over the kind's replica paths). Stateless; thread-safe.</summary>
internal static class ScaleSubresource
{
    public static JsonObject Handle(ResourceService service, ResourceType type, string ns, string name, string method, string text)
    {
        var scalePaths = type.Scale!;
        JsonObject ToScale(JsonObject obj)
        {
            var spec = JsonPath.Evaluate(obj, scalePaths.SpecReplicas).FirstOrDefault()?.AsInt64() ?? 0;
            var status = JsonPath.Evaluate(obj, scalePaths.StatusReplicas).FirstOrDefault()?.AsInt64() ?? 0;
            var meta = obj["metadata"]!;
            return new JsonObject
            {
                ["kind"] = "Scale",
                ["apiVersion"] = "autoscaling/v1",
                ["metadata"] = new JsonObject
                {
                    ["name"] = meta["name"]?.DeepClone(), ["namespace"] = meta["namespace"]?.DeepClone(), ["uid"] = meta["uid"]?.DeepClone(),
                    ["resourceVersion"] = meta["resourceVersion"]?.DeepClone(), ["creationTimestamp"] = meta["creationTimestamp"]?.DeepClone(),
                },
                ["spec"] = new JsonObject { ["replicas"] = spec },
                ["status"] = new JsonObject { ["replicas"] = status },
            };
        }
        if (method == "GET")
        {
            return ToScale(service.Get(type, ns, name));
        }
        if (method is not ("PUT" or "PATCH"))
        {
            throw ApiError.MethodNotAllowed("the server does not allow this method on the requested resource");
        }
        return service.Store.Transact(txn =>
        {
            var current = txn.Get(type.StorageKey, ResourceService.NsKey(type, ns), name) ?? throw ApiError.NotFound(type, name);
            var scale = ToScale(current);
            var incoming = JsonNode.Parse(text) as JsonObject ?? new JsonObject();
            var newScale = method == "PUT" ? incoming : (JsonObject)MergePatch.Apply(scale, incoming)!;
            var rv = newScale["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(rv) && rv != current["metadata"]!["resourceVersion"]!.GetValue<string>())
            {
                throw ApiError.StaleObject(type, name);
            }
            var replicas = newScale["spec"]?["replicas"]?.AsInt64() ?? 0;
            var target = current;
            var parts = scalePaths.SpecReplicas.Trim('.').Split('.');
            JsonObject node = target;
            foreach (var p in parts[..^1])
            {
                node = node[p] as JsonObject ?? (JsonObject)(node[p] = new JsonObject());
            }
            node[parts[^1]] = replicas;
            return ToScale(service.UpdateIn(txn, type, ns, name, target, status: false, allowCreate: false));
        });
    }
}
