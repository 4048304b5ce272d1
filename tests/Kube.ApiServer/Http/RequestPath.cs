namespace Kube.ApiServer.Http;

/// <summary>A parsed resource URL: /api/v1/... or /apis/{group}/{version}/.... Immutable.</summary>
internal sealed record RequestPath(string Group, string Version, string? Namespace, string Resource, string? Name, string? Subresource)
{
    /// <summary>Parses the resource part of a URL, or returns null for anything else (discovery, unknown).</summary>
    public static RequestPath? Parse(string path)
    {
        var segs = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        int i;
        string group;
        string version;
        if (segs.Length >= 3 && segs[0] == "api")
        {
            (group, version, i) = ("", segs[1], 2);
        }
        else if (segs.Length >= 4 && segs[0] == "apis")
        {
            (group, version, i) = (segs[1], segs[2], 3);
        }
        else
        {
            return null;
        }
        var rest = segs[i..];
        if (rest.Length >= 3 && rest[0] == "namespaces" && !(rest.Length == 3 && rest[2] is "status" or "finalize"))
        {
            return rest.Length > 5 ? null : new RequestPath(group, version, rest[1], rest[2], rest.Length > 3 ? rest[3] : null, rest.Length > 4 ? rest[4] : null);
        }
        return rest.Length > 3 ? null : new RequestPath(group, version, null, rest[0], rest.Length > 1 ? rest[1] : null, rest.Length > 2 ? rest[2] : null);
    }
}
