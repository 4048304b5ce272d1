using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Tests.Controller;

/// <summary>
/// AllocateProducerIds on a newly elected controller whose image does not yet hold a block the previous controller
/// committed: the block it hands out must not overlap that one.
/// </summary>
public sealed class ProducerIdBlockAllocatorTests
{
    [Fact]
    public async Task AllocateAsync_NewLeaderImageBehindACommittedBlock_FirstCommitsItsEpochThenAllocatesAfterThatBlock()
    {
        var store = new LaggingStore();
        await store.CommitAsync([new ProducerIdsRecord { BrokerId = 1, BrokerEpoch = 1, NextProducerId = ProducerIdManager.BlockSize }], CancellationToken.None);

        // The previous controller committed [1000, 2000) for broker 2; this leader will only apply it once its own
        // epoch's first entry commits.
        store.Unapplied.Add(new ProducerIdsRecord { BrokerId = 2, BrokerEpoch = 1, NextProducerId = 2 * ProducerIdManager.BlockSize });
        var allocator = new ProducerIdBlockAllocator(store, () => (true, 2));

        var (error, start, length) = await allocator.AllocateAsync(3, 5, CancellationToken.None);

        Assert.Equal(ErrorCode.None, error);
        Assert.Equal(2 * ProducerIdManager.BlockSize, start);
        Assert.Equal(ProducerIdManager.BlockSize, length);
        Assert.IsType<NoOpRecord>(store.Committed[^2]);
        Assert.Equal(3 * ProducerIdManager.BlockSize, store.Image.NextProducerId);
    }

    [Fact]
    public async Task AllocateAsync_SameEpochAgain_NoSecondNoOpAndConsecutiveBlocks()
    {
        var store = new LaggingStore();
        var epoch = 4;
        var allocator = new ProducerIdBlockAllocator(store, () => (true, epoch));

        var first = await allocator.AllocateAsync(1, 1, CancellationToken.None);
        var second = await allocator.AllocateAsync(2, 1, CancellationToken.None);
        epoch = 5;
        var third = await allocator.AllocateAsync(1, 1, CancellationToken.None);

        Assert.Equal((0L, ProducerIdManager.BlockSize * 1L, ProducerIdManager.BlockSize * 2L), (first.Start, second.Start, third.Start));
        Assert.Equal(
            [nameof(NoOpRecord), nameof(ProducerIdsRecord), nameof(ProducerIdsRecord), nameof(NoOpRecord), nameof(ProducerIdsRecord)],
            store.Committed.Select(r => r.GetType().Name));
    }

    [Fact]
    public async Task AllocateAsync_NotLeading_NotControllerAndNothingCommitted()
    {
        var store = new LaggingStore();
        var allocator = new ProducerIdBlockAllocator(store, () => (false, 3));

        var (error, _, _) = await allocator.AllocateAsync(1, 1, CancellationToken.None);

        Assert.Equal(ErrorCode.NotController, error);
        Assert.Empty(store.Committed);
    }

    /// <summary>
    /// A store whose image misses <see cref="Unapplied"/> records until the next commit, as a new Raft leader's image
    /// misses entries of earlier epochs until an entry of its own epoch commits. Not thread-safe; owned by one test.
    /// </summary>
    private sealed class LaggingStore : IMetadataStore
    {
        private readonly InMemoryMetadataStore _inner = new(MetadataImage.Empty("lagging-store-cluster-A", 1));

        public List<IApiMessage> Unapplied { get; } = [];

        public List<IApiMessage> Committed { get; } = [];

        public MetadataImage Image => _inner.Image;

        public event Action<MetadataImage>? ImageChanged
        {
            add => _inner.ImageChanged += value;
            remove => _inner.ImageChanged -= value;
        }

        public ValueTask<MetadataImage> CommitAsync(IReadOnlyList<IApiMessage> records, CancellationToken cancellationToken)
        {
            Committed.AddRange(records);
            var all = new List<IApiMessage>(Unapplied);
            all.AddRange(records);
            Unapplied.Clear();
            return _inner.CommitAsync(all, cancellationToken);
        }
    }
}
