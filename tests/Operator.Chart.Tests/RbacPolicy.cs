using System.Text.Json.Nodes;

namespace Operator.Chart.Tests;

/// <summary>A request as RBAC authorizes it: verb, API group, resource, subresource, namespace (null: cluster scope), name. Immutable.</summary>
internal sealed record RbacRequest(string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name)
{
    public override string ToString() =>
        $"{Verb} {(Group.Length == 0 ? "core" : Group)}/{Resource}{(Subresource is null ? "" : "/" + Subresource)}"
        + $"{(Name is null ? "" : " " + Name)} in {Namespace ?? "(cluster)"}";
}

/// <summary>
/// Kubernetes RBAC evaluated over rendered manifests for one service account, as the apiserver's RBAC authorizer does:
/// a RoleBinding grants its role's rules in its own namespace, a ClusterRoleBinding everywhere; a rule matches when
/// its apiGroups, resources ("resource/subresource") and verbs contain the request's (or "*") and, when it names
/// resources, the request names one of them (so create, list and watch never match such a rule). Immutable; thread-safe.
/// </summary>
internal sealed class RbacPolicy
{
    private readonly List<(string? Namespace, JsonObject Rule)> _grants = [];

    public RbacPolicy(IEnumerable<JsonObject> manifests, string serviceAccountNamespace, string serviceAccountName)
    {
        var objects = manifests.ToList();
        JsonArray? Rules(string kind, string name, string? ns) => objects.SingleOrDefault(o => (string?)o["kind"] == kind
            && (string?)o["metadata"]!["name"] == name && (string?)o["metadata"]!["namespace"] == ns)?["rules"] as JsonArray;

        foreach (var binding in objects.Where(o => (string?)o["kind"] is "RoleBinding" or "ClusterRoleBinding"))
        {
            var subjects = binding["subjects"]?.AsArray() ?? [];
            if (!subjects.Any(s => (string?)s!["kind"] == "ServiceAccount" && (string?)s["name"] == serviceAccountName
                && (string?)s["namespace"] == serviceAccountNamespace))
            {
                continue;
            }

            var ns = (string?)binding["kind"] == "RoleBinding" ? (string?)binding["metadata"]!["namespace"] : null;
            var roleRef = binding["roleRef"]!;
            var rules = (string?)roleRef["kind"] == "ClusterRole"
                ? Rules("ClusterRole", (string)roleRef["name"]!, null)
                : Rules("Role", (string)roleRef["name"]!, ns);
            foreach (var rule in rules ?? [])
            {
                _grants.Add((ns, (JsonObject)rule!));
            }
        }
    }

    public bool Allows(RbacRequest request) =>
        _grants.Any(g => (g.Namespace is null || g.Namespace == request.Namespace) && Matches(g.Rule, request));

    private static bool Matches(JsonObject rule, RbacRequest request)
    {
        static bool Has(JsonNode? list, string value) => list is JsonArray a && a.Any(v => (string?)v is { } s && (s == "*" || s == value));
        var resource = request.Subresource is null ? request.Resource : request.Resource + "/" + request.Subresource;
        if (!Has(rule["apiGroups"], request.Group) || !Has(rule["resources"], resource) || !Has(rule["verbs"], request.Verb))
        {
            return false;
        }

        return rule["resourceNames"] is not JsonArray { Count: > 0 } names || (request.Name is not null && names.Any(n => (string?)n == request.Name));
    }
}
