using Broker.Cluster.Metadata;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>
/// Hands out producer ids for InitProducerId. As in Kafka, the controller allocates ids in blocks of
/// <see cref="BlockSize"/> by committing a ProducerIdsRecord to the metadata log, so an id is never reused,
/// even across restarts; the broker serves ids from its current block and asks for the next one when it runs
/// out. Thread-safe.
/// </summary>
public sealed class ProducerIdManager
{
    /// <summary>Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE.</summary>
    public const int BlockSize = 1000;

    private readonly IMetadataStore _store;
    private readonly int _nodeId;
    private readonly Func<long> _brokerEpoch;
    private readonly Func<CancellationToken, Task<(long Start, int Length)>>? _allocateBlock;
    private readonly SemaphoreSlim _allocating = new(1, 1);
    private readonly Lock _lock = new();
    private long _next;
    private long _end;

    /// <param name="allocateBlock">Obtains a block from the active controller (a KRaft quorum: AllocateProducerIds);
    /// null commits the block through <paramref name="store"/> directly (this node is the only controller).</param>
    public ProducerIdManager(IMetadataStore store, int nodeId, Func<long> brokerEpoch, Func<CancellationToken, Task<(long Start, int Length)>>? allocateBlock = null)
    {
        _store = store;
        _nodeId = nodeId;
        _brokerEpoch = brokerEpoch;
        _allocateBlock = allocateBlock;
    }

    /// <summary>The next unused producer id.</summary>
    public async ValueTask<long> NextAsync(CancellationToken cancellationToken)
    {
        if (TryTake(out var id))
        {
            return id;
        }

        await _allocating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!TryTake(out id))
            {
                await AllocateBlockAsync(cancellationToken).ConfigureAwait(false);
            }

            return id;
        }
        finally
        {
            _allocating.Release();
        }
    }

    private bool TryTake(out long id)
    {
        lock (_lock)
        {
            if (_next < _end)
            {
                id = _next++;
                return true;
            }
        }

        id = -1;
        return false;
    }

    // Single-node controller: the block is [image.NextProducerId, +BlockSize). With a quorum, the controller leader
    // will commit the same record on AllocateProducerIds from any broker.
    private async ValueTask AllocateBlockAsync(CancellationToken cancellationToken)
    {
        if (_allocateBlock is not null)
        {
            var (blockStart, length) = await _allocateBlock(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _next = blockStart;
                _end = blockStart + length;
            }

            return;
        }

        var start = _store.Image.NextProducerId;
        if (start > long.MaxValue - BlockSize)
        {
            throw new InvalidOperationException("Producer ids are exhausted.");
        }

        var record = new ProducerIdsRecord { BrokerId = _nodeId, BrokerEpoch = _brokerEpoch(), NextProducerId = start + BlockSize };
        await _store.CommitAsync([record], cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _next = start;
            _end = start + BlockSize;
        }
    }
}
