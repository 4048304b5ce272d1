using System.Text.Json.Nodes;

namespace Kube.ApiServer.Discovery;

/// <summary>
/// One served resource (group, version, plural) and how the server treats it.
/// Immutable; thread-safe.
/// </summary>
internal sealed record ResourceType
{
    public required string Group { get; init; }
    public required string Version { get; init; }
    public required string Plural { get; init; }
    public required string Singular { get; init; }
    public required string Kind { get; init; }
    public required bool Namespaced { get; init; }
    public IReadOnlyList<string> ShortNames { get; init; } = [];
    public IReadOnlyList<string> Categories { get; init; } = [];

    /// <summary>The resource has a status subresource: the main endpoint ignores status and vice versa.</summary>
    public bool HasStatus { get; init; }

    /// <summary>Scale subresource paths, or null when there is none.</summary>
    public ScalePaths? Scale { get; init; }

    /// <summary>metadata.generation is maintained (bumped on changes outside metadata and status).</summary>
    public bool TracksGeneration { get; init; }

    /// <summary>For custom resources: the served version's schema and printer columns.</summary>
    public CustomResourceInfo? Custom { get; init; }

    public string GroupVersion => Group.Length == 0 ? Version : Group + "/" + Version;

    /// <summary>Storage key: one store per group and plural, whatever the version.</summary>
    public string StorageKey => Group + "/" + Plural;

    /// <summary>"configmaps" or "statefulsets.apps", as the apiserver names a resource in messages.</summary>
    public string QualifiedResource => Group.Length == 0 ? Plural : Plural + "." + Group;

    /// <summary>"Service" or "StatefulSet.apps", as the apiserver names a kind in messages.</summary>
    public string QualifiedKind => Group.Length == 0 ? Kind : Kind + "." + Group;
}

/// <summary>JSON paths (dotted, as in a CRD's scale subresource) of the scale fields. Immutable.</summary>
internal sealed record ScalePaths(string SpecReplicas, string StatusReplicas, string? LabelSelector);

/// <summary>What a CRD says about one of its versions. Immutable after construction.</summary>
internal sealed record CustomResourceInfo(
    JsonObject? Schema,
    IReadOnlyList<PrinterColumn> PrinterColumns,
    bool PreserveUnknownAtRoot);

/// <summary>An additionalPrinterColumns entry. Immutable.</summary>
internal sealed record PrinterColumn(string Name, string Type, string? Format, string Description, int Priority, string JsonPath);
