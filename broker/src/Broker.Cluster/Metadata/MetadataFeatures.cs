using Broker.Cluster.Raft;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Metadata;

/// <summary>
/// The features this broker finalizes in the metadata log (Kafka's bootstrap FeatureLevelRecords) and the ranges it
/// supports. Only metadata.version: the records written (highest version of every metadata record in the 4.x
/// protocol definitions) are those of Kafka 4.0's default metadata.version, 4.0-IV3 (level 25). transaction.version
/// and group.version are not finalized, so clients do not use protocols this broker lacks; kraft.version is finalized
/// by the Raft log, not here. Immutable.
/// </summary>
public static class MetadataFeatures
{
    public const string MetadataVersion = "metadata.version";

    /// <summary>
    /// kraft.version (KIP-853): supported 0-1 (static and dynamic quorums) and advertised in ApiVersions, where a quorum
    /// leader reads it before adding a voter; its level lives in the Raft log (KRAFT_VERSION), not in FeatureLevelRecords,
    /// and is 0 for a static quorum (voters from controller.quorum.voters, or a sole voter) and 1 for a dynamic one.
    /// </summary>
    public const string KRaftVersion = "kraft.version";

    /// <summary>MetadataVersion.IBP_4_0_IV3.</summary>
    public const short MetadataVersionLevel = 25;

    /// <summary>
    /// The ranges this software supports, as ApiVersions (SupportedFeatures) and BrokerRegistration (Features) declare
    /// them: metadata.version exactly the level written (no upgrade or downgrade path exists), and kraft.version 0-1.
    /// Kafka's brokers declare every feature whose highest production level is above 0, so kraft.version too
    /// (BrokerFeatures.defaultSupportedFeatures).
    /// </summary>
    public static IReadOnlyList<(string Name, short Min, short Max)> Supported { get; } =
    [
        (MetadataVersion, MetadataVersionLevel, MetadataVersionLevel),
        (KRaftVersion, RaftVoter.SupportedMinKRaftVersion, RaftVoter.SupportedMaxKRaftVersion),
    ];

    /// <summary>Records to commit when the log has not finalized metadata.version yet (a new or pre-feature log).</summary>
    public static IReadOnlyList<IApiMessage> BootstrapRecords(MetadataImage image) =>
        image.FinalizedFeatures.ContainsKey(MetadataVersion)
            ? []
            : [new FeatureLevelRecord { Name = MetadataVersion, FeatureLevel = MetadataVersionLevel }];
}
