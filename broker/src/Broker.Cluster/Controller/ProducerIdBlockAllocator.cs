using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>
/// The active controller's side of AllocateProducerIds (67): commits a ProducerIdsRecord per block of
/// <see cref="ProducerIdManager.BlockSize"/> ids, one allocation at a time (two must never read the same next id). A newly
/// elected controller first commits a NoOpRecord in its own epoch: until an entry of its epoch is committed, its image may
/// lack blocks the previous controller committed (a Raft leader learns what is committed only then), and it would hand
/// them out again. Kafka's controller likewise serves nothing before it has replayed the log up to its epoch start.
/// Thread-safe.
/// </summary>
public sealed class ProducerIdBlockAllocator
{
    private readonly SemaphoreSlim _allocating = new(1, 1);
    private readonly IMetadataStore _store;
    private readonly Func<(bool Leads, int Epoch)> _leadership;
    private int _readyEpoch = -1;

    /// <param name="store">The metadata quorum's store.</param>
    /// <param name="leadership">Whether this node leads the quorum now, and in which epoch.</param>
    public ProducerIdBlockAllocator(IMetadataStore store, Func<(bool Leads, int Epoch)> leadership)
    {
        _store = store;
        _leadership = leadership;
    }

    /// <summary>Commits the next block for <paramref name="brokerId"/>; NOT_CONTROLLER unless this node leads (also when
    /// leadership is lost during the commit).</summary>
    public async Task<(ErrorCode Error, long Start, int Length)> AllocateAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken)
    {
        await _allocating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (leads, epoch) = _leadership();
            if (!leads)
            {
                return (ErrorCode.NotController, -1, 0);
            }

            if (_readyEpoch != epoch)
            {
                await _store.CommitAsync([new NoOpRecord()], cancellationToken).ConfigureAwait(false);
                _readyEpoch = epoch;
            }

            var start = _store.Image.NextProducerId;
            if (start > long.MaxValue - ProducerIdManager.BlockSize)
            {
                return (ErrorCode.UnknownServerError, -1, 0);
            }

            var record = new ProducerIdsRecord { BrokerId = brokerId, BrokerEpoch = brokerEpoch, NextProducerId = start + ProducerIdManager.BlockSize };
            await _store.CommitAsync([record], cancellationToken).ConfigureAwait(false);
            return (ErrorCode.None, start, ProducerIdManager.BlockSize);
        }
        catch (NotLeaderException)
        {
            return (ErrorCode.NotController, -1, 0);
        }
        finally
        {
            _allocating.Release();
        }
    }
}
