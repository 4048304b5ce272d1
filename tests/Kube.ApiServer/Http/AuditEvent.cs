using Microsoft.AspNetCore.Http;

namespace Kube.ApiServer;

/// <summary>
/// One resource request as the apiserver's authorizer sees it (its RequestInfo): the RBAC verb, API group, resource,
/// subresource, namespace and name, and the bearer token as the user (the fixture authenticates nobody, so a test
/// tells clients apart by the token their kubeconfig carries; "" when none). Immutable.
/// </summary>
public sealed record AuditEvent(string User, string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name)
{
    /// <summary>The request's audit record, or null for non-resource paths (discovery, OpenAPI, health).</summary>
    internal static AuditEvent? From(HttpRequest request)
    {
        if (Http.RequestPath.Parse(request.Path.Value ?? "/") is not { } rp)
        {
            return null;
        }

        // The apiserver's verbs: a GET is get, list or watch; a DELETE without a name is deletecollection.
        var verb = request.Method switch
        {
            "GET" or "HEAD" when request.Query["watch"] is ["true" or "1"] => "watch",
            "GET" or "HEAD" => rp.Name is null ? "list" : "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => rp.Name is null ? "deletecollection" : "delete",
            _ => request.Method.ToLowerInvariant(),
        };
        var authorization = request.Headers.Authorization.ToString();
        var user = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : "";
        return new AuditEvent(user, verb, rp.Group, rp.Resource, rp.Subresource, rp.Namespace, rp.Name);
    }
}
