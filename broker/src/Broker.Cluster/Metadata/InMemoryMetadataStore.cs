using Broker.Protocol.Messages;

namespace Broker.Cluster.Metadata;

/// <summary>
/// A metadata store that keeps records only in memory: for unit tests and tools. The broker uses
/// <see cref="Raft.RaftMetadataStore"/>, which persists the same records. Thread-safe (commits serialised).
/// </summary>
public sealed class InMemoryMetadataStore : IMetadataStore
{
    private readonly Lock _lock = new();
    private MetadataImage _image;

    public InMemoryMetadataStore(MetadataImage initial)
    {
        _image = initial;
    }

    public MetadataImage Image => Volatile.Read(ref _image);

    public event Action<MetadataImage>? ImageChanged;

    public ValueTask<MetadataImage> CommitAsync(IReadOnlyList<IApiMessage> records, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        MetadataImage next;
        lock (_lock)
        {
            var builder = new MetadataImageBuilder(_image);
            var offset = _image.Offset;
            foreach (var record in records)
            {
                builder.Apply(record, ++offset);
            }

            next = builder.Build();
            Volatile.Write(ref _image, next);

            // Inside the lock so listeners see images in commit order.
            ImageChanged?.Invoke(next);
        }

        return ValueTask.FromResult(next);
    }
}
