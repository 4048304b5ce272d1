using Broker.Cluster.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>The controller's single writer: other controller services plan and commit under the same mutex.</summary>
public sealed partial class TopicController
{
    /// <summary>The metadata log this controller commits to.</summary>
    internal IMetadataStore Store => _store;

    /// <summary>
    /// Runs <paramref name="operation"/> on the current image under the mutex every topic, ISR, broker, election and
    /// reassignment change takes, so a change planned from one image is committed before the next one is planned
    /// (Kafka's controller is a single event thread for the same reason: PartitionChangeRecords are deltas).
    /// </summary>
    internal async Task<T> RunExclusiveAsync<T>(Func<MetadataImage, Task<T>> operation, CancellationToken cancellationToken)
    {
        await _mutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await operation(_store.Image).ConfigureAwait(false);
        }
        finally
        {
            _mutex.Release();
        }
    }
}
