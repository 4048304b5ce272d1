using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kube.ApiServer.Api;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Patch;
using Kube.ApiServer.Selectors;
using Kube.ApiServer.Table;
using Kube.ApiServer.Validation;
using Microsoft.AspNetCore.Http;

namespace Kube.ApiServer.Http;

/// <summary>
/// Routes every HTTP request: discovery, OpenAPI index, and the resource verbs. Errors leave as Status
/// objects. Thread-safe: holds no per-request state.
/// </summary>
internal sealed class ApiHandler
{
    private readonly ResourceService _service;
    private readonly WatchStreamer _watch;
    private readonly TableConverter _table;
    private readonly ServerSideApply _apply;
    private readonly Func<string> _serverAddress;

    public ApiHandler(ResourceService service, WatchStreamer watch, TableConverter table, ServerSideApply apply, Func<string> serverAddress)
    {
        _service = service;
        _watch = watch;
        _table = table;
        _apply = apply;
        _serverAddress = serverAddress;
    }

    public async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            await DispatchAsync(ctx).ConfigureAwait(false);
        }
        catch (ApiError e)
        {
            await WriteAsync(ctx, e.Code, e.ToStatus()).ConfigureAwait(false);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            await WriteAsync(ctx, 400, ApiError.BadRequest("error converting YAML to JSON: " + e.Message).ToStatus()).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await WriteAsync(ctx, 400, ApiError.BadRequest("the object provided is unrecognized: " + e.Message).ToStatus()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or NullReferenceException or ArgumentException or IndexOutOfRangeException)
        {
            // A fixture bug must be visible to the test, not hidden: the whole exception goes into the Status.
            await WriteAsync(ctx, 500, ApiError.Raw(500, "InternalError", "fixture failure: " + e).ToStatus()).ConfigureAwait(false);
        }
    }

    private async Task DispatchAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var registry = _service.Registry;
        JsonObject? doc = path.TrimEnd('/') switch
        {
            "/version" => DiscoveryDocuments.Version(),
            "/api" => DiscoveryDocuments.CoreVersions(_serverAddress()),
            "/apis" => DiscoveryDocuments.GroupList(registry),
            "/api/v1" => DiscoveryDocuments.ResourceList(registry, "", "v1"),
            "/openapi/v3" => DiscoveryDocuments.OpenApiV3Index(registry),
            "/healthz" or "/readyz" or "/livez" => null,
            _ => null,
        };
        if (path.TrimEnd('/') is "/healthz" or "/readyz" or "/livez")
        {
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync("ok").ConfigureAwait(false);
            return;
        }
        if (doc is null)
        {
            var segs = path.Trim('/').Split('/');
            if (segs.Length == 2 && segs[0] == "apis")
            {
                doc = DiscoveryDocuments.GroupDoc(registry, segs[1]) ?? throw ApiError.NotFoundPath();
            }
            else if (segs.Length == 3 && segs[0] == "apis")
            {
                doc = DiscoveryDocuments.ResourceList(registry, segs[1], segs[2]) ?? throw ApiError.NotFoundPath();
            }
            else if (path.StartsWith("/openapi/v3/", StringComparison.Ordinal))
            {
                var gv = path["/openapi/v3/".Length..].Split('/');
                doc = (gv.Length == 2 && gv[0] == "api" ? DiscoveryDocuments.OpenApiV3GroupVersion(registry, "", gv[1])
                    : gv.Length == 3 ? DiscoveryDocuments.OpenApiV3GroupVersion(registry, gv[1], gv[2]) : null) ?? throw ApiError.NotFoundPath();
            }
        }
        if (doc is not null)
        {
            if (ctx.Request.Method != "GET")
            {
                throw ApiError.MethodNotAllowed($"the server does not allow this method on the requested resource");
            }
            await WriteAsync(ctx, 200, doc).ConfigureAwait(false);
            return;
        }
        if (ProtobufBodies.IsProtobuf(ctx.Request.ContentType) && ctx.Request.Method is not ("POST" or "PUT"))
        {
            throw ApiError.UnsupportedMediaType("the kube-apiserver fixture decodes protobuf only in POST and PUT bodies; send application/json");
        }
        var rp = RequestPath.Parse(path) ?? throw ApiError.NotFoundPath();
        var type = registry.Find(rp.Group, rp.Version, rp.Resource) ?? throw ApiError.NotFoundPath();
        if (type.Namespaced != (rp.Namespace is not null) && !(type.Namespaced && rp.Name is null && ctx.Request.Method == "GET"))
        {
            throw ApiError.NotFoundPath();
        }
        var ns = rp.Namespace ?? "";
        await ResourceAsync(ctx, type, rp, ns).ConfigureAwait(false);
    }

    private async Task ResourceAsync(HttpContext ctx, ResourceType type, RequestPath rp, string ns)
    {
        var q = ctx.Request.Query;
        var method = ctx.Request.Method;
        var sub = rp.Subresource;
        var binding = sub == "binding" && type.Group.Length == 0 && type.Plural == "pods" && rp.Name is not null;
        if (sub is not null && !(sub == "status" && type.HasStatus) && !(sub == "scale" && type.Scale is not null) && !binding)
        {
            throw ApiError.NotFoundPath();
        }
        if (binding)
        {
            if (method != "POST")
            {
                throw ApiError.MethodNotAllowed("the server does not allow this method on the requested resource");
            }
            await WriteAsync(ctx, 201, _service.Bind(type, ns, rp.Name!, await ReadObjectAsync(ctx).ConfigureAwait(false))).ConfigureAwait(false);
            return;
        }
        var dryRun = q.ContainsKey("dryRun");
        if (rp.Name is null)
        {
            switch (method)
            {
                case "GET":
                    var labels = ParseLabels(q["labelSelector"]);
                    var fields = ParseFields(q["fieldSelector"], type);
                    if (IsTrue(q["watch"]))
                    {
                        await _watch.StreamAsync(ctx, type, rp.Namespace, labels, fields, q, ctx.RequestAborted).ConfigureAwait(false);
                        return;
                    }
                    await ListAsync(ctx, type, rp.Namespace, labels, fields, q).ConfigureAwait(false);
                    return;
                case "POST":
                    var body = await ReadObjectAsync(ctx).ConfigureAwait(false);
                    var createFields = FieldCheck.FromQuery(q["fieldValidation"]);
                    var created = _service.Create(type, ns, body, dryRun, Manager(ctx), createFields);
                    AddWarnings(ctx, createFields);
                    await WriteObjectAsync(ctx, 201, type, created).ConfigureAwait(false);
                    return;
                case "DELETE":
                    var opts = await ReadOptionalObjectAsync(ctx).ConfigureAwait(false);
                    var (items, _) = _service.List(type, rp.Namespace, ParseLabels(q["labelSelector"]), ParseFields(q["fieldSelector"], type));
                    var deleted = new JsonArray();
                    foreach (var item in items)
                    {
                        try
                        {
                            deleted.Add(_service.Delete(type, ns.Length > 0 ? ns : item["metadata"]?["namespace"]?.GetValue<string>() ?? "", item["metadata"]!["name"]!.GetValue<string>(), opts));
                        }
                        catch (ApiError e) when (e.Code == 404)
                        {
                        }
                    }
                    await WriteAsync(ctx, 200, ListObject(type, deleted, _service.Store.CurrentResourceVersion)).ConfigureAwait(false);
                    return;
                default:
                    throw ApiError.MethodNotAllowed("the server does not allow this method on the requested resource");
            }
        }
        var name = rp.Name;
        if (sub == "scale")
        {
            var body = method is "PUT" or "PATCH" ? await ReadTextAsync(ctx).ConfigureAwait(false) : "";
            await WriteAsync(ctx, 200, ScaleSubresource.Handle(_service, type, ns, name, method, body)).ConfigureAwait(false);
            return;
        }
        switch (method)
        {
            case "GET":
                await WriteObjectAsync(ctx, 200, type, _service.Get(type, ns, name)).ConfigureAwait(false);
                return;
            case "PUT":
                var body = await ReadObjectAsync(ctx).ConfigureAwait(false);
                var updateFields = FieldCheck.FromQuery(q["fieldValidation"]);
                var updated = _service.Update(type, ns, name, body, sub == "status", Manager(ctx), updateFields);
                AddWarnings(ctx, updateFields);
                await WriteObjectAsync(ctx, 200, type, updated).ConfigureAwait(false);
                return;
            case "PATCH":
                await PatchAsync(ctx, type, ns, name, sub).ConfigureAwait(false);
                return;
            case "DELETE":
                var options = await ReadOptionalObjectAsync(ctx).ConfigureAwait(false);
                await WriteObjectAsync(ctx, 200, type, _service.Delete(type, ns, name, options)).ConfigureAwait(false);
                return;
            default:
                throw ApiError.MethodNotAllowed("the server does not allow this method on the requested resource");
        }
    }

    private async Task PatchAsync(HttpContext ctx, ResourceType type, string ns, string name, string? sub)
    {
        var contentType = (ctx.Request.ContentType ?? "").Split(';')[0].Trim();
        var text = await ReadTextAsync(ctx).ConfigureAwait(false);
        var manager = Manager(ctx);
        var fields = FieldCheck.FromQuery(ctx.Request.Query["fieldValidation"]);
        if (contentType == "application/apply-patch+yaml")
        {
            var force = IsTrue(ctx.Request.Query["force"]);
            if (string.IsNullOrEmpty(ctx.Request.Query["fieldManager"]))
            {
                throw ApiError.BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
            }
            var applied = _apply.Apply(type, ns, name, ApplyYaml.Parse(text), manager, force, sub, fields);
            AddWarnings(ctx, fields);
            await WriteObjectAsync(ctx, 200, type, applied).ConfigureAwait(false);
            return;
        }
        var patch = JsonNode.Parse(text);
        var result = _service.Store.Transact(txn =>
        {
            var current = txn.Get(type.StorageKey, ResourceService.NsKey(type, ns), name) ?? throw ApiError.NotFound(type, name);
            var rv = current["metadata"]!["resourceVersion"]!.GetValue<string>();
            JsonNode? patched;
            try
            {
                patched = contentType switch
                {
                    "application/merge-patch+json" => MergePatch.Apply(current.DeepClone(), patch),
                    "application/json-patch+json" => JsonPatch.Apply(current, patch as JsonArray ?? throw new FormatException("json patch must be an array")),
                    "application/strategic-merge-patch+json" when type.Custom is null => StrategicMergePatch.Apply(current, patch as JsonObject ?? new JsonObject()),
                    _ => throw ApiError.UnsupportedMediaType(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                        + (type.Custom is null ? ", application/strategic-merge-patch+json" : "")),
                };
            }
            catch (FormatException e)
            {
                throw ApiError.Raw(422, "Invalid", e.Message);
            }
            var obj = patched as JsonObject ?? throw ApiError.BadRequest("patch did not produce an object");
            // A patch without a resourceVersion applies to the version just read (no precondition).
            if (string.IsNullOrEmpty(obj["metadata"]?["resourceVersion"]?.GetValue<string>()))
            {
                obj["metadata"]!["resourceVersion"] = rv;
            }
            return _service.UpdateIn(txn, type, ns, name, obj, sub == "status", allowCreate: false, manager, fields);
        });
        AddWarnings(ctx, fields);
        await WriteObjectAsync(ctx, 200, type, result).ConfigureAwait(false);
    }

    private async Task ListAsync(HttpContext ctx, ResourceType type, string? ns, LabelSelector labels, FieldSelector fields, IQueryCollection q)
    {
        var rvParam = (string?)q["resourceVersion"];
        if (q["resourceVersionMatch"] == "Exact" && !string.IsNullOrEmpty(rvParam)
            && long.TryParse(rvParam, NumberStyles.None, CultureInfo.InvariantCulture, out var exact) && exact != _service.Store.CurrentResourceVersion)
        {
            throw ApiError.Gone($"too old resource version: {exact} ({_service.Store.CurrentResourceVersion})");
        }
        var (items, rv) = _service.List(type, ns, labels, fields);
        if (q.TryGetValue("limit", out var limitText) && int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0)
        {
            var start = 0;
            if (!string.IsNullOrEmpty(q["continue"]))
            {
                start = int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(q["continue"]!)), CultureInfo.InvariantCulture);
            }
            var page = items.Skip(start).Take(limit).ToList();
            var more = start + limit < items.Count;
            var pageList = ListObject(type, new JsonArray(page.Select(i => (JsonNode?)i).ToArray()), rv);
            if (more)
            {
                pageList["metadata"]!["continue"] = Convert.ToBase64String(Encoding.UTF8.GetBytes((start + limit).ToString(CultureInfo.InvariantCulture)));
                pageList["metadata"]!["remainingItemCount"] = items.Count - start - limit;
            }
            items = page;
            if (!TableConverter.Wants(ctx.Request.Headers.Accept))
            {
                await WriteAsync(ctx, 200, pageList).ConfigureAwait(false);
                return;
            }
        }
        if (TableConverter.Wants(ctx.Request.Headers.Accept))
        {
            var table = _table.Convert(type, items, rv.ToString(CultureInfo.InvariantCulture), q["includeObject"] == "Object");
            await WriteAsync(ctx, 200, table, TableConverter.ContentType).ConfigureAwait(false);
            return;
        }
        await WriteAsync(ctx, 200, ListObject(type, new JsonArray(items.Select(i => (JsonNode?)i).ToArray()), rv)).ConfigureAwait(false);
    }

    private static JsonObject ListObject(ResourceType type, JsonArray items, long rv)
    {
        var listKind = type.Kind + "List";
        return new JsonObject
        {
            ["kind"] = listKind,
            ["apiVersion"] = type.GroupVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        };
    }

    /// <summary>fieldValidation=Warn: one RFC 7234 warning per dropped field, as the apiserver sends them.</summary>
    private static void AddWarnings(HttpContext ctx, FieldCheck fields)
    {
        foreach (var warning in fields.Warnings)
        {
            ctx.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        }
    }

    private async Task WriteObjectAsync(HttpContext ctx, int code, ResourceType type, JsonObject obj)
    {
        if (TableConverter.Wants(ctx.Request.Headers.Accept))
        {
            var table = _table.Convert(type, [obj], obj["metadata"]?["resourceVersion"]?.GetValue<string>() ?? "", ctx.Request.Query["includeObject"] == "Object");
            await WriteAsync(ctx, code, table, TableConverter.ContentType).ConfigureAwait(false);
            return;
        }
        await WriteAsync(ctx, code, obj).ConfigureAwait(false);
    }

    internal static async Task WriteAsync(HttpContext ctx, int code, JsonNode body, string contentType = "application/json")
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = contentType;
        await ctx.Response.WriteAsync(body.ToJsonString(JsonOptions.Compact)).ConfigureAwait(false);
    }

    private static string Manager(HttpContext ctx)
    {
        var m = (string?)ctx.Request.Query["fieldManager"];
        if (!string.IsNullOrEmpty(m))
        {
            return m;
        }
        var agent = (string?)ctx.Request.Headers.UserAgent ?? "unknown";
        var slash = agent.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? agent[..slash] : agent;
    }

    private static LabelSelector ParseLabels(string? text)
    {
        try
        {
            return LabelSelector.Parse(text);
        }
        catch (FormatException e)
        {
            throw ApiError.BadRequest("unable to parse requirement: " + e.Message);
        }
    }

    private static FieldSelector ParseFields(string? text, ResourceType type)
    {
        try
        {
            var supported = type.Custom is null ? FieldSelector.SupportedFields(type.Group, type.Plural) : FieldSelector.SupportedFields("custom", "");
            return FieldSelector.Parse(text, supported);
        }
        catch (FormatException e)
        {
            throw ApiError.BadRequest(e.Message);
        }
    }

    internal static bool IsTrue(string? value) => value is "true" or "1";

    private static async Task<string> ReadTextAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpContext ctx)
    {
        var contentType = ctx.Request.ContentType ?? "";
        if (ProtobufBodies.IsProtobuf(contentType))
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted).ConfigureAwait(false);
            return ProtobufBodies.Decode(buffer.ToArray());
        }

        var text = await ReadTextAsync(ctx).ConfigureAwait(false);
        var node = contentType.Contains("yaml", StringComparison.Ordinal) ? ApplyYaml.Parse(text) : JsonNode.Parse(text);
        return node as JsonObject ?? throw ApiError.BadRequest("the object provided is unrecognized");
    }

    /// <summary>DeleteOptions from the body, with query parameters (propagationPolicy, orphanDependents) filling gaps, as the apiserver merges them.</summary>
    private static async Task<JsonObject?> ReadOptionalObjectAsync(HttpContext ctx)
    {
        var text = await ReadTextAsync(ctx).ConfigureAwait(false);
        var options = string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text) as JsonObject;
        var q = ctx.Request.Query;
        if (!string.IsNullOrEmpty(q["propagationPolicy"]) && options?["propagationPolicy"] is null)
        {
            options ??= new JsonObject();
            options["propagationPolicy"] = (string?)q["propagationPolicy"];
        }
        if (!string.IsNullOrEmpty(q["orphanDependents"]) && options?["orphanDependents"] is null)
        {
            options ??= new JsonObject();
            options["orphanDependents"] = IsTrue(q["orphanDependents"]);
        }
        return options;
    }
}
