using System.Globalization;
using System.Text.Json.Nodes;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Http;
using Kube.ApiServer.Schema;
using Kube.ApiServer.Selectors;
using Kube.ApiServer.Storage;
using Kube.ApiServer.Validation;

namespace Kube.ApiServer.Api;

/// <summary>
/// The apiserver's registry semantics over <see cref="ObjectStore"/>: create/update/delete with
/// resourceVersion preconditions, generation, status isolation, validation, finalizers and CRD
/// registration. Thread-safe: every operation is one store transaction.
/// </summary>
internal sealed class ResourceService
{
    private const string NameAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    private readonly ObjectStore _store;
    private readonly ResourceRegistry _registry;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ObjectDefaults _defaults = new();
    private readonly UnknownFieldDetector _unknownFields = new();

    public ResourceService(ObjectStore store, ResourceRegistry registry, TimeProvider time, Random random)
    {
        _store = store;
        _registry = registry;
        _time = time;
        _random = random;
    }

    public ObjectStore Store => _store;

    /// <summary>Set once at start-up: records managedFields for non-apply writes.</summary>
    public Patch.ServerSideApply? FieldManager { get; set; }
    public ResourceRegistry Registry => _registry;

    public string Now() => _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public JsonObject Get(ResourceType type, string ns, string name) =>
        _store.Transact(txn => txn.Get(type.StorageKey, ns, name)) is { } obj
            ? AsVersion(type, obj)
            : throw ApiError.NotFound(type, name);

    public (List<JsonObject> Items, long ResourceVersion) List(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields) =>
        _store.Transact(txn =>
        {
            var items = txn.List(type.StorageKey, ns)
                .Where(o => labels.Matches(o["metadata"]?["labels"] as JsonObject) && fields.Matches(o))
                .Select(o => AsVersion(type, o))
                .ToList();
            return (items, txn.CurrentResourceVersion);
        });

    public JsonObject Create(ResourceType type, string ns, JsonObject body, bool dryRun = false, string? manager = null, FieldCheck? fields = null) =>
        _store.Transact(txn => CreateIn(txn, type, ns, body, dryRun, manager, fields));

    internal JsonObject CreateIn(ObjectStore.Transaction txn, ResourceType type, string ns, JsonObject body, bool dryRun, string? manager = null,
        FieldCheck? fields = null)
    {
        CheckTypeMeta(type, body);
        var meta = Meta(body);
        var bodyNs = meta["namespace"]?.GetValue<string>();
        if (type.Namespaced)
        {
            if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
            {
                throw ApiError.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }
            meta["namespace"] = ns;
            var nsObj = txn.Get("/namespaces", "", ns);
            if (nsObj is null)
            {
                throw ApiError.NamespaceNotFound(ns);
            }
            if (nsObj["metadata"]?["deletionTimestamp"] is not null)
            {
                var denied = meta["name"]?.GetValue<string>() ?? "";
                throw ApiError.Forbidden(
                    $"{type.QualifiedResource} \"{denied}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated", type, denied);
            }
        }
        else
        {
            meta.Remove("namespace");
        }
        if (string.IsNullOrEmpty(meta["name"]?.GetValue<string>()) && meta["generateName"]?.GetValue<string>() is { Length: > 0 } prefix)
        {
            meta["name"] = prefix + RandomSuffix();
        }
        var name = meta["name"]?.GetValue<string>() ?? "";
        foreach (var k in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "generation", "selfLink" })
        {
            meta.Remove(k);
        }
        _defaults.OnCreate(type, body);
        var errors = new List<FieldError>();
        PrepareAndValidate(type, body, null, errors, fields);
        if (errors.Count > 0)
        {
            throw ApiError.Invalid(type, name, errors);
        }
        if (txn.Get(type.StorageKey, NsKey(type, ns), name) is not null)
        {
            throw ApiError.AlreadyExists(type, name);
        }
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Now();
        if (type.TracksGeneration)
        {
            meta["generation"] = 1;
        }
        if (IsCrd(type))
        {
            body["status"] = CrdSupport.EstablishedStatus(body, Now());
        }
        if (manager is not null)
        {
            FieldManager?.Track(type, null, body, manager, null);
        }
        if (dryRun)
        {
            return AsVersion(type, body);
        }
        var stored = txn.Put(type.StorageKey, NsKey(type, ns), name, body);
        if (IsCrd(type))
        {
            _registry.SetCustom(name, CrdSupport.TypesOf(stored));
        }
        return AsVersion(type, stored);
    }

    /// <summary>PUT of the main resource or of its status subresource.</summary>
    public JsonObject Update(ResourceType type, string ns, string name, JsonObject body, bool status, string? manager = null, FieldCheck? fields = null) =>
        _store.Transact(txn => UpdateIn(txn, type, ns, name, body, status, allowCreate: false, manager, fields));

    internal JsonObject UpdateIn(ObjectStore.Transaction txn, ResourceType type, string ns, string name, JsonObject body, bool status, bool allowCreate,
        string? manager = null, FieldCheck? fields = null)
    {
        CheckTypeMeta(type, body);
        var bodyName = Meta(body)["name"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
        {
            throw ApiError.BadRequest("the name of the object (" + bodyName + ") does not match the name on the URL (" + name + ")");
        }
        var old = txn.Get(type.StorageKey, NsKey(type, ns), name);
        if (old is null)
        {
            if (allowCreate)
            {
                return CreateIn(txn, type, ns, body, false, manager);
            }
            throw ApiError.NotFound(type, name);
        }
        var rv = Meta(body)["resourceVersion"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(rv) && rv != old["metadata"]!["resourceVersion"]!.GetValue<string>())
        {
            throw ApiError.StaleObject(type, name);
        }
        JsonObject updated;
        if (status)
        {
            updated = (JsonObject)old.DeepClone();
            updated.Remove("status");
            if (body["status"] is { } s)
            {
                updated["status"] = s.DeepClone();
            }
            if (body["metadata"]?["managedFields"] is { } mf)
            {
                updated["metadata"]!["managedFields"] = mf.DeepClone();
            }
        }
        else
        {
            updated = (JsonObject)body.DeepClone();
            var meta = Meta(updated);
            var oldMeta = old["metadata"]!.AsObject();
            foreach (var k in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "name", "namespace" })
            {
                meta.Remove(k);
                if (oldMeta[k] is { } v)
                {
                    meta[k] = v.DeepClone();
                }
            }
            if (type.HasStatus || IsCrd(type))
            {
                updated.Remove("status");
                if (old["status"] is { } os)
                {
                    updated["status"] = os.DeepClone();
                }
            }
            if (oldMeta["deletionTimestamp"] is not null)
            {
                // Once deleting, finalizers can only be removed, never added.
                var oldFinalizers = (oldMeta["finalizers"] as JsonArray)?.Select(f => f!.GetValue<string>()).ToHashSet() ?? [];
                var added = (meta["finalizers"] as JsonArray)?.Select(f => f!.GetValue<string>()).Where(f => !oldFinalizers.Contains(f)).ToList() ?? [];
                if (added.Count > 0)
                {
                    throw ApiError.Invalid(type, name, [FieldError.Forbidden("metadata.finalizers", $"no new finalizers can be added if the object is being deleted, found new finalizers []string{{{string.Join(", ", added.Select(a => "\"" + a + "\""))}}}")]);
                }
            }
        }
        var errors = new List<FieldError>();
        PrepareAndValidate(type, updated, old, errors, fields);
        if (errors.Count > 0)
        {
            throw ApiError.Invalid(type, name, errors);
        }
        if (type.TracksGeneration && !JsonNode.DeepEquals(WithoutMetaAndStatus(updated), WithoutMetaAndStatus(old)))
        {
            updated["metadata"]!["generation"] = (old["metadata"]!["generation"]?.AsInt64() ?? 0) + 1;
        }
        updated["metadata"]!["resourceVersion"] = old["metadata"]!["resourceVersion"]!.DeepClone();
        if (manager is not null)
        {
            FieldManager?.Track(type, old, updated, manager, status ? "status" : null);
        }
        if (JsonNode.DeepEquals(updated, old))
        {
            return AsVersion(type, old);
        }
        if (updated["metadata"]!["deletionTimestamp"] is not null && (updated["metadata"]!["finalizers"] as JsonArray)?.Count is null or 0)
        {
            var removed = txn.Remove(type.StorageKey, NsKey(type, ns), name)!;
            OnRemoved(type, removed);
            return AsVersion(type, removed);
        }
        var stored = txn.Put(type.StorageKey, NsKey(type, ns), name, updated);
        if (IsCrd(type))
        {
            _registry.SetCustom(name, CrdSupport.TypesOf(stored));
        }
        return AsVersion(type, stored);
    }

    /// <summary>DELETE: immediate when nothing holds the object, else sets deletionTimestamp and the policy's finalizer.</summary>
    public JsonObject Delete(ResourceType type, string ns, string name, JsonObject? options) =>
        _store.Transact(txn => DeleteIn(txn, type, ns, name, options));

    internal JsonObject DeleteIn(ObjectStore.Transaction txn, ResourceType type, string ns, string name, JsonObject? options)
    {
        var obj = txn.Get(type.StorageKey, NsKey(type, ns), name) ?? throw ApiError.NotFound(type, name);
        var meta = obj["metadata"]!.AsObject();
        if (options?["preconditions"] is JsonObject pre)
        {
            if (pre["uid"]?.GetValue<string>() is { } uid && uid != meta["uid"]!.GetValue<string>())
            {
                throw ApiError.Conflict(type, name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta["uid"]!.GetValue<string>()}");
            }
            if (pre["resourceVersion"]?.GetValue<string>() is { } rv && rv != meta["resourceVersion"]!.GetValue<string>())
            {
                throw ApiError.Conflict(type, name, $"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {meta["resourceVersion"]!.GetValue<string>()}");
            }
        }
        var policy = options?["propagationPolicy"]?.GetValue<string>();
        if (policy is null && options?["orphanDependents"]?.GetValue<bool>() is { } orphan)
        {
            policy = orphan ? "Orphan" : "Background";
        }
        var finalizers = meta["finalizers"] as JsonArray ?? [];
        var extra = policy switch
        {
            "Foreground" => "foregroundDeletion",
            "Orphan" => "orphan",
            _ => null,
        };
        if (type.Group.Length == 0 && type.Plural == "namespaces")
        {
            extra = null;
            obj["status"] = new JsonObject { ["phase"] = "Terminating" };
            finalizers = meta["finalizers"] as JsonArray ?? [];
            if (meta["deletionTimestamp"] is null)
            {
                meta["deletionTimestamp"] = Now();
                meta["deletionGracePeriodSeconds"] = 0;
                return AsVersion(type, txn.Put(type.StorageKey, "", name, obj));
            }
            return AsVersion(type, obj);
        }
        if (IsPod(type) && PodGracePeriod(obj, options) is var grace and > 0)
        {
            // A pod bound to a node is deleted gracefully: it stays, marked, until its kubelet has stopped its
            // containers and deletes it with gracePeriodSeconds=0. A second delete may only shorten the period.
            var current = meta["deletionGracePeriodSeconds"]?.GetValue<long>();
            if (meta["deletionTimestamp"] is not null && current <= grace)
            {
                return AsVersion(type, obj);
            }
            meta["deletionTimestamp"] = _time.GetUtcNow().UtcDateTime.AddSeconds(grace).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            meta["deletionGracePeriodSeconds"] = grace;
            if (extra is not null && !finalizers.Any(f => f!.GetValue<string>() == extra))
            {
                finalizers.Add(extra);
                meta["finalizers"] = finalizers.DeepClone();
            }
            return AsVersion(type, txn.Put(type.StorageKey, NsKey(type, ns), name, obj));
        }
        if (finalizers.Count == 0 && extra is null)
        {
            var removed = txn.Remove(type.StorageKey, NsKey(type, ns), name)!;
            OnRemoved(type, removed);
            return AsVersion(type, removed);
        }
        var changed = false;
        if (meta["deletionTimestamp"] is null)
        {
            meta["deletionTimestamp"] = Now();
            meta["deletionGracePeriodSeconds"] = 0;
            if (type.TracksGeneration)
            {
                meta["generation"] = (meta["generation"]?.AsInt64() ?? 0) + 1;
            }
            changed = true;
        }
        if (extra is not null && !finalizers.Any(f => f!.GetValue<string>() == extra))
        {
            finalizers.Add(extra);
            meta["finalizers"] = finalizers.DeepClone();
            changed = true;
        }
        return AsVersion(type, changed ? txn.Put(type.StorageKey, NsKey(type, ns), name, obj) : obj);
    }

    private static bool IsPod(ResourceType type) => type.Group.Length == 0 && type.Plural == "pods";

    // The pod strategy's CheckGracefulDelete: the request's period, else the pod's terminationGracePeriodSeconds, else
    // 30; zero for a pod no node runs (not bound, or already Succeeded/Failed).
    private static long PodGracePeriod(JsonObject pod, JsonObject? options)
    {
        if (string.IsNullOrEmpty(pod["spec"]?["nodeName"]?.GetValue<string>())
            || pod["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed")
        {
            return 0;
        }
        var grace = options?["gracePeriodSeconds"]?.AsInt64() ?? pod["spec"]?["terminationGracePeriodSeconds"]?.AsInt64() ?? 30;
        return Math.Max(0, grace);
    }

    /// <summary>
    /// POST pods/{name}/binding, what the scheduler does: sets <c>spec.nodeName</c> from the Binding's target, once.
    /// </summary>
    public JsonObject Bind(ResourceType type, string ns, string name, JsonObject binding) => _store.Transact(txn =>
    {
        var pod = txn.Get(type.StorageKey, ns, name) ?? throw ApiError.NotFound(type, name);
        var node = binding["target"]?["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(node))
        {
            throw ApiError.Raw(422, "Invalid", $"Binding.core \"{name}\" is invalid: target.name: Required value");
        }
        if (pod["spec"]?["nodeName"]?.GetValue<string>() is { Length: > 0 } assigned)
        {
            throw ApiError.Conflict(type, name, $"pod {name} is already assigned to node \"{assigned}\"");
        }
        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            throw ApiError.Conflict(type, name, $"pod {name} is being deleted, cannot be assigned to a host");
        }
        pod["spec"]!["nodeName"] = node;
        txn.Put(type.StorageKey, ns, name, pod);
        return new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success", ["code"] = 201 };
    });

    /// <summary>Internal removal by controllers (namespace cleanup): bypasses finalizers.</summary>
    internal void ForceRemove(ObjectStore.Transaction txn, ResourceType type, string ns, string name)
    {
        if (txn.Remove(type.StorageKey, NsKey(type, ns), name) is { } removed)
        {
            OnRemoved(type, removed);
        }
    }

    public static string NsKey(ResourceType type, string ns) => type.Namespaced ? ns : "";

    private void OnRemoved(ResourceType type, JsonObject removed)
    {
        if (IsCrd(type))
        {
            var name = removed["metadata"]!["name"]!.GetValue<string>();
            _registry.SetCustom(name, []);
        }
    }

    private void PrepareAndValidate(ResourceType type, JsonObject obj, JsonObject? old, List<FieldError> errors, FieldCheck? fields)
    {
        // Unknown fields never reach storage (decoding drops them); fieldValidation decides whether that is silent,
        // a warning or an error. Custom resources: metadata is typed, the rest follows the CRD's schema.
        var unknown = new List<string>();
        string? typeError = null;
        if (type.Custom is null && UnknownFieldDetector.ModelFor(type) is { } model)
        {
            _unknownFields.Prune(obj, model, "", unknown, ref typeError);
        }
        else if (obj["metadata"] is JsonObject metadata)
        {
            _unknownFields.Prune(metadata, typeof(k8s.Models.V1ObjectMeta), "metadata", unknown, ref typeError);
        }

        if (typeError is not null)
        {
            throw ApiError.BadRequest($"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: {typeError}");
        }

        if (type.Custom is { Schema: { } customSchema })
        {
            StructuralSchema.Prune(obj, customSchema, isRoot: true, unknown);
        }

        fields?.Report(type, unknown);
        ObjectMetaValidator.Validate(type, obj, errors);
        if (type.Custom is { } custom)
        {
            if (custom.Schema is { } schema)
            {
                StructuralSchema.Default(obj, schema);
                StructuralSchema.Validate(obj, schema, "", errors);
            }
        }
        else if (IsCrd(type))
        {
            CrdSupport.Validate(obj, errors);
        }
        else if (old is null)
        {
            BuiltInValidator.ValidateCreate(type, obj, errors);
        }
        else
        {
            BuiltInValidator.ValidateUpdate(type, obj, old, errors);
        }
    }

    private static void CheckTypeMeta(ResourceType type, JsonObject body)
    {
        var apiVersion = body["apiVersion"]?.GetValue<string>();
        var kind = body["kind"]?.GetValue<string>();
        if ((!string.IsNullOrEmpty(kind) && kind != type.Kind) || (!string.IsNullOrEmpty(apiVersion) && apiVersion != type.GroupVersion))
        {
            throw ApiError.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({type.GroupVersion})");
        }
        body["apiVersion"] = type.GroupVersion;
        body["kind"] = type.Kind;
    }

    private static JsonObject Meta(JsonObject obj)
    {
        if (obj["metadata"] is not JsonObject meta)
        {
            meta = new JsonObject();
            obj["metadata"] = meta;
        }
        return meta;
    }

    private static JsonObject WithoutMetaAndStatus(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        copy.Remove("metadata");
        copy.Remove("status");
        return copy;
    }

    /// <summary>Objects are stored in one version; reads through another served version get its apiVersion (conversion None).</summary>
    private static JsonObject AsVersion(ResourceType type, JsonObject obj)
    {
        obj["apiVersion"] = type.GroupVersion;
        return obj;
    }

    private static bool IsCrd(ResourceType type) => type.Group == "apiextensions.k8s.io" && type.Plural == "customresourcedefinitions";

    private string RandomSuffix()
    {
        Span<char> chars = stackalloc char[5];
        lock (_random)
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = NameAlphabet[_random.Next(NameAlphabet.Length)];
            }
        }
        return new string(chars);
    }
}
