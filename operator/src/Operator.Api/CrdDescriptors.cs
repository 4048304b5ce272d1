namespace Operator.Api;

/// <summary>A printer column of a CRD (<c>additionalPrinterColumns</c>). Immutable; thread-safe.</summary>
public sealed record PrinterColumn(string Name, string Type, string JsonPath);

/// <summary>
/// What a CRD needs beyond its schema: names, file name as Strimzi ships it, printer columns and whether it
/// has a scale subresource. The schema comes from <see cref="SpecType"/> and <see cref="StatusType"/>.
/// Immutable; thread-safe.
/// </summary>
public sealed record CrdDescriptor(
    string FileName,
    string Kind,
    string Plural,
    string Singular,
    IReadOnlyList<string> ShortNames,
    Type SpecType,
    Type StatusType,
    bool SpecRequired,
    bool Scale,
    IReadOnlyList<PrinterColumn> PrinterColumns)
{
    /// <summary>The API group: kafka.strimzi.io, or core.strimzi.io for StrimziPodSet.</summary>
    public string Group { get; init; } = StrimziGroup.Name;

    /// <summary>Served versions, storage first.</summary>
    public IReadOnlyList<string> ServedVersions { get; init; } = StrimziGroup.ServedVersions;

    public string StorageVersion => ServedVersions[0];

    public string Name => Plural + "." + Group;
}

/// <summary>The CRDs the operator ships, in file order. Immutable; thread-safe.</summary>
public static class StrimziCrds
{
    private const string ReadyPath = ".status.conditions[?(@.type==\"Ready\")].status";
    private const string ClusterLabelPath = ".metadata.labels.strimzi\\.io/cluster";

    public static readonly CrdDescriptor Kafka = new(
        "040-Crd-kafka.yaml", "Kafka", "kafkas", "kafka", ["k"], typeof(KafkaSpec), typeof(KafkaStatus),
        SpecRequired: true, Scale: false,
        [
            new("Ready", "string", ReadyPath),
            new("Warnings", "string", ".status.conditions[?(@.type==\"Warning\")].status"),
            new("Kafka version", "string", ".status.kafkaVersion"),
            new("Metadata version", "string", ".status.kafkaMetadataVersion"),
        ]);

    public static readonly CrdDescriptor StrimziPodSet = new(
        "042-Crd-strimzipodset.yaml", "StrimziPodSet", "strimzipodsets", "strimzipodset", ["sps"], typeof(StrimziPodSetSpec), typeof(StrimziPodSetStatus),
        SpecRequired: true, Scale: false,
        [
            new("Pods", "integer", ".status.pods"),
            new("Ready Pods", "integer", ".status.readyPods"),
            new("Current Pods", "integer", ".status.currentPods"),
            new("Age", "date", ".metadata.creationTimestamp"),
        ])
    {
        Group = CoreStrimziGroup.Name,
        ServedVersions = CoreStrimziGroup.ServedVersions,
    };

    public static readonly CrdDescriptor KafkaTopic = new(
        "043-Crd-kafkatopic.yaml", "KafkaTopic", "kafkatopics", "kafkatopic", ["kt"], typeof(KafkaTopicSpec), typeof(KafkaTopicStatus),
        SpecRequired: false, Scale: false,
        [
            new("Cluster", "string", ClusterLabelPath),
            new("Partitions", "integer", ".spec.partitions"),
            new("Replication factor", "integer", ".spec.replicas"),
            new("Ready", "string", ReadyPath),
        ]);

    public static readonly CrdDescriptor KafkaUser = new(
        "044-Crd-kafkauser.yaml", "KafkaUser", "kafkausers", "kafkauser", ["ku"], typeof(KafkaUserSpec), typeof(KafkaUserStatus),
        SpecRequired: false, Scale: false,
        [
            new("Cluster", "string", ClusterLabelPath),
            new("Authentication", "string", ".spec.authentication.type"),
            new("Authorization", "string", ".spec.authorization.type"),
            new("Ready", "string", ReadyPath),
        ]);

    public static readonly CrdDescriptor KafkaNodePool = new(
        "045-Crd-kafkanodepool.yaml", "KafkaNodePool", "kafkanodepools", "kafkanodepool", ["knp"], typeof(KafkaNodePoolSpec), typeof(KafkaNodePoolStatus),
        SpecRequired: true, Scale: true,
        [
            new("Desired replicas", "integer", ".spec.replicas"),
            new("Roles", "string", ".status.roles"),
            new("NodeIds", "string", ".status.nodeIds"),
        ]);

    public static readonly IReadOnlyList<CrdDescriptor> All = [Kafka, StrimziPodSet, KafkaTopic, KafkaUser, KafkaNodePool];
}
