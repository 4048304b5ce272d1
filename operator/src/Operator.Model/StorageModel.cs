using System.Globalization;
using Operator.Api;

namespace Operator.Model;

/// <summary>
/// One data volume of a node: its pod volume / claim name and mount path. JBOD volumes are
/// <c>data-&lt;id&gt;</c> mounted at <c>/var/lib/kafka/data-&lt;id&gt;</c>; a single volume is <c>data</c> at
/// <c>/var/lib/kafka/data</c>, as in Strimzi. Immutable; thread-safe.
/// </summary>
public sealed record VolumeModel(int? Id, Storage Storage)
{
    public const string MountRoot = "/var/lib/kafka";

    public string Name => Id is { } id ? string.Create(CultureInfo.InvariantCulture, $"data-{id}") : "data";

    public string MountPath => MountRoot + "/" + Name;

    public bool IsPersistent => Storage.Type == Api.Storage.PersistentClaim;

    public bool HoldsMetadata => Storage.KraftMetadata == "shared";

    /// <summary>The log directory of a node on this volume: <c>&lt;mount&gt;/kafka-log&lt;nodeId&gt;</c>.</summary>
    public string LogDir(int nodeId) => string.Create(CultureInfo.InvariantCulture, $"{MountPath}/kafka-log{nodeId}");

    /// <summary>The volumes of a storage spec, in id order.</summary>
    public static IReadOnlyList<VolumeModel> Of(Storage storage) =>
        storage.Type == Api.Storage.Jbod
            ? [.. (storage.Volumes ?? []).OrderBy(v => v.Id).Select(v => new VolumeModel(v.Id, v))]
            : [new VolumeModel(null, storage)];
}
