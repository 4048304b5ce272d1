using System.Collections.Immutable;

namespace Kube.ApiServer.Discovery;

/// <summary>
/// The set of served resources: fixed built-in kinds plus those defined by established CRDs.
/// Thread-safe: readers get an immutable snapshot, replaced under a lock on CRD changes.
/// </summary>
internal sealed class ResourceRegistry
{
    private ImmutableArray<ResourceType> _all;
    private readonly ImmutableArray<ResourceType> _builtIn;
    private readonly Lock _gate = new();

    public ResourceRegistry()
    {
        _builtIn = BuiltInResources.All;
        _all = _builtIn;
    }

    public ImmutableArray<ResourceType> All
    {
        get
        {
            lock (_gate)
            {
                return _all;
            }
        }
    }

    public ResourceType? Find(string group, string version, string plural)
    {
        foreach (var r in All)
        {
            if (r.Plural == plural && r.Group == group && r.Version == version)
            {
                return r;
            }
        }
        return null;
    }

    public ResourceType? FindKind(string apiVersion, string kind)
    {
        foreach (var r in All)
        {
            if (r.Kind == kind && r.GroupVersion == apiVersion)
            {
                return r;
            }
        }
        return null;
    }

    /// <summary>Group names in discovery order (built-ins first, then CRD groups by name).</summary>
    public IReadOnlyList<(string Group, IReadOnlyList<string> Versions)> Groups()
    {
        var result = new List<(string, IReadOnlyList<string>)>();
        var seen = new Dictionary<string, List<string>>();
        foreach (var r in All)
        {
            if (r.Group.Length == 0)
            {
                continue;
            }
            if (!seen.TryGetValue(r.Group, out var versions))
            {
                versions = [];
                seen[r.Group] = versions;
                result.Add((r.Group, versions));
            }
            if (!versions.Contains(r.Version))
            {
                versions.Add(r.Version);
            }
        }
        return result;
    }

    /// <summary>Replaces every resource contributed by the CRD named <paramref name="crdName"/>.</summary>
    public void SetCustom(string crdName, IReadOnlyList<ResourceType> types)
    {
        lock (_gate)
        {
            var builder = ImmutableArray.CreateBuilder<ResourceType>();
            builder.AddRange(_builtIn);
            foreach (var r in _all)
            {
                if (r.Custom is not null && r.Plural + "." + r.Group != crdName)
                {
                    builder.Add(r);
                }
            }
            builder.AddRange(types);
            _all = builder.ToImmutable();
        }
    }
}
