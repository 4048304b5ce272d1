using System.Text.Json.Nodes;

namespace Kube.ApiServer.Discovery;

/// <summary>
/// The legacy (unaggregated) discovery documents and a minimal OpenAPI v3 index that tells kubectl the
/// server validates fields itself (fieldValidation). Stateless over the registry; thread-safe.
/// </summary>
internal static class DiscoveryDocuments
{
    private static readonly string[] Verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["emulationMajor"] = "1",
        ["emulationMinor"] = "32",
        ["gitVersion"] = "v1.32.0-kube-apiserver-fixture",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2024-12-11T00:00:00Z",
        ["goVersion"] = "go1.23.4",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject CoreVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject GroupList(ResourceRegistry registry)
    {
        var groups = new JsonArray();
        foreach (var (group, versions) in registry.Groups())
        {
            groups.Add(Group(group, versions));
        }
        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    public static JsonObject? GroupDoc(ResourceRegistry registry, string group)
    {
        foreach (var (g, versions) in registry.Groups())
        {
            if (g == group)
            {
                var doc = Group(g, versions);
                doc["kind"] = "APIGroup";
                doc["apiVersion"] = "v1";
                return doc;
            }
        }
        return null;
    }

    private static JsonObject Group(string group, IReadOnlyList<string> versions)
    {
        var vs = new JsonArray();
        foreach (var v in versions)
        {
            vs.Add(new JsonObject { ["groupVersion"] = group + "/" + v, ["version"] = v });
        }
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = vs,
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = group + "/" + versions[0], ["version"] = versions[0] },
        };
    }

    public static JsonObject? ResourceList(ResourceRegistry registry, string group, string version)
    {
        var resources = new JsonArray();
        foreach (var r in registry.All)
        {
            if (r.Group != group || r.Version != version)
            {
                continue;
            }
            var entry = new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray(Verbs.Select(v => (JsonNode?)v).ToArray()),
            };
            if (r.ShortNames.Count > 0)
            {
                entry["shortNames"] = new JsonArray(r.ShortNames.Select(v => (JsonNode?)v).ToArray());
            }
            if (r.Categories.Count > 0)
            {
                entry["categories"] = new JsonArray(r.Categories.Select(v => (JsonNode?)v).ToArray());
            }
            resources.Add(entry);
            if (r.HasStatus)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = r.Plural + "/status", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["kind"] = r.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
            }
            if (r.Scale is not null)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = r.Plural + "/scale", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["group"] = "autoscaling",
                    ["version"] = "v1", ["kind"] = "Scale", ["verbs"] = new JsonArray("get", "patch", "update"),
                });
            }
        }
        if (resources.Count == 0)
        {
            return null;
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : group + "/" + version,
            ["resources"] = resources,
        };
    }

    public static JsonObject OpenApiV3Index(ResourceRegistry registry)
    {
        var paths = new JsonObject();
        foreach (var gv in registry.All.Select(r => (r.Group, r.Version)).Distinct())
        {
            var key = gv.Group.Length == 0 ? "api/" + gv.Version : $"apis/{gv.Group}/{gv.Version}";
            paths[key] = new JsonObject { ["serverRelativeURL"] = "/openapi/v3/" + key };
        }
        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>One PATCH operation per kind declaring the fieldValidation parameter (what kubectl probes for).</summary>
    public static JsonObject? OpenApiV3GroupVersion(ResourceRegistry registry, string group, string version)
    {
        var paths = new JsonObject();
        foreach (var r in registry.All)
        {
            if (r.Group != group || r.Version != version)
            {
                continue;
            }
            var prefix = group.Length == 0 ? "/api/" + version : $"/apis/{group}/{version}";
            var path = r.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{r.Plural}/{{name}}" : $"{prefix}/{r.Plural}/{{name}}";
            paths[path] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["operationId"] = "patch" + r.Kind,
                    ["x-kubernetes-action"] = "patch",
                    ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = group, ["version"] = version, ["kind"] = r.Kind },
                    ["parameters"] = new JsonArray(
                        new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                    ["responses"] = new JsonObject(),
                },
            };
        }
        if (paths.Count == 0)
        {
            return null;
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = new JsonObject() },
        };
    }
}
