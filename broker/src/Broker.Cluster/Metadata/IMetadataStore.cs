using Broker.Protocol.Messages;

namespace Broker.Cluster.Metadata;

/// <summary>
/// The cluster metadata log: an ordered, durable sequence of KRaft metadata records and the image they
/// build. Today a single-node log on local storage implements it; the Raft quorum of a later issue will
/// implement the same contract (commit = replicated to a majority). Implementations are thread-safe.
/// </summary>
public interface IMetadataStore
{
    /// <summary>The image after the last committed record.</summary>
    MetadataImage Image { get; }

    /// <summary>
    /// Appends <paramref name="records"/> atomically (all or none) and completes once they are durable
    /// and applied, returning the image that includes them.
    /// </summary>
    ValueTask<MetadataImage> CommitAsync(IReadOnlyList<IApiMessage> records, CancellationToken cancellationToken);

    /// <summary>Raised after each commit with the new image, on the committing thread.</summary>
    event Action<MetadataImage>? ImageChanged;
}
