using System.Text.Json.Nodes;
using Kube.ApiServer.Discovery;
using Kube.ApiServer.Validation;

namespace Kube.ApiServer.Http;

/// <summary>
/// A failure answered as a meta/v1 Status, shaped like the real apiserver's (k8s.io/apimachinery errors).
/// Immutable; thread-safe.
/// </summary>
internal sealed class ApiError : Exception
{
    private ApiError(int code, string reason, string message, JsonObject? details) : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
    }

    public int Code { get; }
    public string Reason { get; }
    public JsonObject? Details { get; }

    public JsonObject ToStatus() => StatusObject(Code, Reason, Message, Details);

    public static JsonObject StatusObject(int code, string reason, string message, JsonObject? details)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null)
        {
            status["details"] = details;
        }
        status["code"] = code;
        return status;
    }

    private static JsonObject ResourceDetails(ResourceType type, string name)
    {
        var d = new JsonObject { ["name"] = name };
        if (type.Group.Length > 0)
        {
            d["group"] = type.Group;
        }
        d["kind"] = type.Plural;
        return d;
    }

    public static ApiError NotFound(ResourceType type, string name) =>
        new(404, "NotFound", $"{type.QualifiedResource} \"{name}\" not found", ResourceDetails(type, name));

    public static ApiError NamespaceNotFound(string ns) =>
        new(404, "NotFound", $"namespaces \"{ns}\" not found", new JsonObject { ["name"] = ns, ["kind"] = "namespaces" });

    public static ApiError AlreadyExists(ResourceType type, string name) =>
        new(409, "AlreadyExists", $"{type.QualifiedResource} \"{name}\" already exists", ResourceDetails(type, name));

    public static ApiError Conflict(ResourceType type, string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {type.QualifiedResource} \"{name}\": {why}", ResourceDetails(type, name));

    public static ApiError StaleObject(ResourceType type, string name) =>
        Conflict(type, name, "the object has been modified; please apply your changes to the latest version and try again");

    public static ApiError Forbidden(string message, ResourceType type, string name) =>
        new(403, "Forbidden", message, ResourceDetails(type, name));

    public static ApiError Raw(int code, string reason, string message) => new(code, reason, message, null);

    public static ApiError BadRequest(string message) => new(400, "BadRequest", message, null);

    public static ApiError MethodNotAllowed(string message) => new(405, "MethodNotAllowed", message, null);

    public static ApiError UnsupportedMediaType(string message) => new(415, "UnsupportedMediaType", message, null);

    public static ApiError NotFoundPath() => new(404, "NotFound", "the server could not find the requested resource", null);

    public static ApiError Gone(string message) => new(410, "Expired", message, null);

    public static ApiError ApplyConflict(ResourceType type, string name, IReadOnlyList<(string Manager, string Field)> conflicts)
    {
        var causes = new JsonArray();
        foreach (var (manager, field) in conflicts)
        {
            causes.Add(new JsonObject
            {
                ["reason"] = "FieldManagerConflict",
                ["message"] = $"conflict with \"{manager}\" using {type.GroupVersion}",
                ["field"] = field,
            });
        }
        var details = ResourceDetails(type, name);
        details["causes"] = causes;
        var message = conflicts.Count == 1
            ? $"Apply failed with 1 conflict: conflict with \"{conflicts[0].Manager}\" using {type.GroupVersion}: {conflicts[0].Field}"
            : $"Apply failed with {conflicts.Count} conflicts: " + string.Join("\n", conflicts.Select(c => $"conflict with \"{c.Manager}\" using {type.GroupVersion}: {c.Field}"));
        return new ApiError(409, "Conflict", message, details);
    }

    /// <summary>422 Invalid with one cause per field error, message as <c>ErrorList.ToAggregate()</c> prints it.</summary>
    public static ApiError Invalid(ResourceType type, string name, IReadOnlyList<FieldError> errors)
    {
        var causes = new JsonArray();
        foreach (var e in errors)
        {
            causes.Add(new JsonObject { ["reason"] = e.CauseReason, ["message"] = e.Body, ["field"] = e.Field });
        }
        var details = new JsonObject { ["name"] = name };
        if (type.Group.Length > 0)
        {
            details["group"] = type.Group;
        }
        details["kind"] = type.Kind;
        details["causes"] = causes;
        var rendered = errors.Count == 1
            ? errors[0].ToString()
            : "[" + string.Join(", ", errors.Select(e => e.ToString())) + "]";
        return new ApiError(422, "Invalid", $"{type.QualifiedKind} \"{name}\" is invalid: {rendered}", details);
    }
}
