namespace Broker.Storage.Producers;

/// <summary>
/// Sequence range and offsets of one batch a producer wrote. <see cref="OffsetDelta"/> is lastOffset - firstOffset.
/// Immutable.
/// </summary>
internal readonly record struct BatchMetadata(int FirstSequence, int LastSequence, long LastOffset, int OffsetDelta, long Timestamp)
{
    public long FirstOffset => LastOffset - OffsetDelta;
}

/// <summary>
/// What a partition remembers about one producer: its epoch, the metadata of its last
/// <see cref="ProducerStateEntry.MaxBatches"/> batches (so a retry of any in-flight batch is recognised), and the
/// transaction fields Kafka's snapshot carries. Owned by <see cref="ProducerStateManager"/>; not thread-safe.
/// </summary>
internal sealed class ProducerStateEntry
{
    /// <summary>Kafka's bound on in-flight requests per idempotent producer, and so on remembered batches.</summary>
    public const int MaxBatches = 5;

    private readonly BatchMetadata[] _batches = new BatchMetadata[MaxBatches];
    private int _first;

    public ProducerStateEntry(long producerId, short epoch)
    {
        ProducerId = producerId;
        Epoch = epoch;
    }

    public long ProducerId { get; }

    public short Epoch { get; private set; }

    public int CoordinatorEpoch { get; set; } = -1;

    public long CurrentTxnFirstOffset { get; set; } = -1;

    public long LastTimestamp { get; private set; } = -1;

    public int Count { get; private set; }

    /// <summary>Last sequence written under the current epoch, or -1 when no batch is remembered.</summary>
    public int LastSequence => Count == 0 ? -1 : Batch(Count - 1).LastSequence;

    /// <summary>Last offset written, or -1 when no batch is remembered.</summary>
    public long LastOffset => Count == 0 ? -1 : Batch(Count - 1).LastOffset;

    /// <summary>The <paramref name="index"/>-th remembered batch, oldest first.</summary>
    public BatchMetadata Batch(int index) => _batches[(_first + index) % MaxBatches];

    /// <summary>A new epoch forgets the old epoch's batches: sequences restart at zero.</summary>
    public void BumpEpoch(short epoch)
    {
        if (epoch != Epoch)
        {
            Epoch = epoch;
            Count = 0;
            _first = 0;
        }
    }

    public void Add(in BatchMetadata batch)
    {
        if (Count == MaxBatches)
        {
            _first = (_first + 1) % MaxBatches;
            Count--;
        }

        _batches[(_first + Count) % MaxBatches] = batch;
        Count++;
        LastTimestamp = batch.Timestamp;
    }

    public void Touch(long timestamp) => LastTimestamp = timestamp;

    /// <summary>The remembered batch with exactly this sequence range under <paramref name="epoch"/>, if any.</summary>
    public bool TryFindDuplicate(short epoch, int firstSequence, int lastSequence, out BatchMetadata duplicate)
    {
        if (epoch == Epoch)
        {
            for (var i = 0; i < Count; i++)
            {
                var batch = Batch(i);
                if (batch.FirstSequence == firstSequence && batch.LastSequence == lastSequence)
                {
                    duplicate = batch;
                    return true;
                }
            }
        }

        duplicate = default;
        return false;
    }
}
