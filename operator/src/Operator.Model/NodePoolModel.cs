using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Nodes;
using Operator.Api;

namespace Operator.Model;

/// <summary>
/// A node pool as the model uses it: a KafkaNodePool, or the implicit pool <c>kafka</c> of a legacy Kafka
/// (spec.kafka.replicas and storage). Node ids are in ascending order, not necessarily contiguous; each node is one pod
/// of the pool's StrimziPodSet, named <c>&lt;cluster&gt;-&lt;pool&gt;-&lt;id&gt;</c>.
/// Immutable; thread-safe.
/// </summary>
public sealed record NodePoolModel(
    string Name,
    bool IsBroker,
    bool IsController,
    ImmutableArray<int> NodeIds,
    Storage Storage,
    JsonObject? Resources,
    ImmutableSortedDictionary<string, string> Labels,
    KafkaNodePool? Source)
{
    /// <summary>Name of the legacy implicit pool.</summary>
    public const string ImplicitName = "kafka";

    public IReadOnlyList<VolumeModel> Volumes => VolumeModel.Of(Storage);

    public IReadOnlyList<string> Roles =>
        [.. new[] { (IsController, KafkaNodePool.ControllerRole), (IsBroker, KafkaNodePool.BrokerRole) }.Where(r => r.Item1).Select(r => r.Item2)];

    public string ProcessRoles => string.Join(',', new[] { IsBroker ? "broker" : null, IsController ? "controller" : null }.OfType<string>());

    public string WorkloadName(string cluster) => cluster + "-" + Name;

    public string PodName(string cluster, int nodeId) => string.Create(CultureInfo.InvariantCulture, $"{cluster}-{Name}-{nodeId}");

    /// <summary>The volume holding the KRaft metadata log: the one marked shared, else the lowest id.</summary>
    public VolumeModel MetadataVolume => Volumes.FirstOrDefault(v => v.HoldsMetadata) ?? Volumes[0];
}
