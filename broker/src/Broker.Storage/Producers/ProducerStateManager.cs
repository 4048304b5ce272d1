using System.Buffers.Binary;
using Broker.Protocol.Records;

namespace Broker.Storage.Producers;

/// <summary>Outcome of checking a client batch against the producer state.</summary>
internal enum ProducerCheck
{
    /// <summary>Next in sequence, a new epoch starting at zero, or a producer this partition does not know.</summary>
    Accept,

    /// <summary>Same epoch and sequence range as a remembered batch: a retry of something already written.</summary>
    Duplicate,

    /// <summary>A gap or a replay older than the remembered batches (OUT_OF_ORDER_SEQUENCE_NUMBER).</summary>
    OutOfOrderSequence,

    /// <summary>An epoch older than the last one seen: a fenced, zombie producer (INVALID_PRODUCER_EPOCH).</summary>
    InvalidEpoch,
}

/// <summary>One producer as DescribeProducers reports it. Immutable.</summary>
public readonly record struct ActiveProducer(long ProducerId, short Epoch, int LastSequence, long LastTimestamp,
    int CoordinatorEpoch, long CurrentTxnStartOffset);

/// <summary>
/// The idempotence state of one partition: per producer id, its epoch and last batches (Kafka's
/// ProducerStateManager). Client batches are checked against it before they are written and every written batch
/// updates it, whether it came from a client, a replica fetch or a replay of the log at load. Snapshots use Kafka's
/// producer snapshot layout (docs/log-format.md). Guarded by the owning log's writer lock; not thread-safe.
/// </summary>
internal sealed class ProducerStateManager
{
    public const short SnapshotVersion = 1;
    private const int HeaderSize = 2 + 4 + 4;
    private const int EntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

    private readonly Dictionary<long, ProducerStateEntry> _producers = [];
    private volatile int _count;

    /// <summary>Number of producers remembered; readable without the lock (metrics).</summary>
    public int Count => _count;

    /// <summary>
    /// Checks a client batch header (pid ≥ 0) before it is written. For <see cref="ProducerCheck.Duplicate"/> the
    /// original batch is returned; for errors, the current epoch and last sequence are returned for the message.
    /// </summary>
    public ProducerCheck Check(ReadOnlySpan<byte> header, out BatchMetadata duplicate, out short currentEpoch, out int currentLastSequence)
    {
        duplicate = default;
        currentEpoch = -1;
        currentLastSequence = -1;
        var producerId = RecordBatchHeader.ProducerId(header);
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            // Unknown producer (new, expired, or its batches were deleted): any sequence is accepted, as in Kafka.
            return ProducerCheck.Accept;
        }

        currentEpoch = entry.Epoch;
        currentLastSequence = entry.LastSequence;
        var epoch = RecordBatchHeader.ProducerEpoch(header);
        var firstSequence = RecordBatchHeader.BaseSequence(header);
        var lastSequence = IncrementSequence(firstSequence, RecordBatchHeader.LastOffsetDelta(header));
        if (epoch < entry.Epoch)
        {
            return ProducerCheck.InvalidEpoch;
        }

        if (entry.TryFindDuplicate(epoch, firstSequence, lastSequence, out duplicate))
        {
            return ProducerCheck.Duplicate;
        }

        if (epoch != entry.Epoch)
        {
            return firstSequence == 0 || entry.Epoch == -1 ? ProducerCheck.Accept : ProducerCheck.OutOfOrderSequence;
        }

        return entry.Epoch == -1 || InSequence(entry.LastSequence, firstSequence) ? ProducerCheck.Accept : ProducerCheck.OutOfOrderSequence;
    }

    /// <summary>Records a written batch (offsets already assigned). Batches without a producer id are ignored.</summary>
    public void Update(ReadOnlySpan<byte> batch)
    {
        var producerId = RecordBatchHeader.ProducerId(batch);
        if (producerId < 0)
        {
            return;
        }

        var epoch = RecordBatchHeader.ProducerEpoch(batch);
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            entry = new ProducerStateEntry(producerId, epoch);
            _producers[producerId] = entry;
            _count = _producers.Count;
        }

        entry.BumpEpoch(epoch);
        var timestamp = RecordBatchHeader.MaxTimestamp(batch);
        if (RecordBatchHeader.IsControl(batch))
        {
            // Transaction markers carry no sequence; they only end the transaction and refresh the producer.
            entry.CurrentTxnFirstOffset = -1;
            entry.Touch(timestamp);
            return;
        }

        var delta = RecordBatchHeader.LastOffsetDelta(batch);
        var firstSequence = RecordBatchHeader.BaseSequence(batch);
        if (RecordBatchHeader.IsTransactional(batch) && entry.CurrentTxnFirstOffset < 0)
        {
            entry.CurrentTxnFirstOffset = RecordBatchHeader.BaseOffset(batch);
        }

        entry.Add(new BatchMetadata(firstSequence, IncrementSequence(firstSequence, delta), RecordBatchHeader.LastOffset(batch), delta, timestamp));
    }

    /// <summary>Forgets producers idle for producer.id.expiration.ms (not those inside a transaction). Returns how many.</summary>
    public int RemoveExpired(long nowMs, long expirationMs)
    {
        List<long>? expired = null;
        foreach (var (producerId, entry) in _producers)
        {
            if (entry.CurrentTxnFirstOffset < 0 && nowMs - entry.LastTimestamp >= expirationMs)
            {
                (expired ??= []).Add(producerId);
            }
        }

        if (expired is null)
        {
            return 0;
        }

        foreach (var producerId in expired)
        {
            _producers.Remove(producerId);
        }

        _count = _producers.Count;
        return expired.Count;
    }

    public void Clear()
    {
        _producers.Clear();
        _count = 0;
    }

    public List<ActiveProducer> ActiveProducers()
    {
        var result = new List<ActiveProducer>(_producers.Count);
        foreach (var entry in _producers.Values)
        {
            result.Add(new ActiveProducer(entry.ProducerId, entry.Epoch, entry.LastSequence, entry.LastTimestamp,
                entry.CoordinatorEpoch, entry.CurrentTxnFirstOffset));
        }

        return result;
    }

    /// <summary>
    /// Serialises the state in Kafka's producer snapshot layout (version 1). Kafka stores one entry per producer, its
    /// last batch; we write one entry per remembered batch, oldest first, so a reload still recognises every in-flight
    /// retry, while a Kafka reader, which keeps the last entry per producer, sees exactly what Kafka would have written.
    /// </summary>
    public byte[] SerializeSnapshot()
    {
        var entries = 0;
        foreach (var entry in _producers.Values)
        {
            entries += Math.Max(1, entry.Count);
        }

        var buffer = new byte[HeaderSize + (entries * EntrySize)];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, SnapshotVersion);
        BinaryPrimitives.WriteInt32BigEndian(span[6..], entries);
        var position = HeaderSize;
        foreach (var entry in _producers.Values)
        {
            if (entry.Count == 0)
            {
                WriteEntry(span[position..], entry, -1, -1, 0, entry.LastTimestamp);
                position += EntrySize;
                continue;
            }

            for (var i = 0; i < entry.Count; i++)
            {
                var batch = entry.Batch(i);
                WriteEntry(span[position..], entry, batch.LastSequence, batch.LastOffset, batch.OffsetDelta, batch.Timestamp);
                position += EntrySize;
            }
        }

        BinaryPrimitives.WriteUInt32BigEndian(span[2..], Crc32C.Compute(span[6..]));
        return buffer;
    }

    /// <summary>Replaces the state with a snapshot's. False (state cleared) if the bytes are not a valid snapshot.</summary>
    public bool TryLoadSnapshot(ReadOnlySpan<byte> snapshot)
    {
        Clear();
        if (snapshot.Length < HeaderSize
            || BinaryPrimitives.ReadInt16BigEndian(snapshot) != SnapshotVersion
            || BinaryPrimitives.ReadUInt32BigEndian(snapshot[2..]) != Crc32C.Compute(snapshot[6..]))
        {
            return false;
        }

        var entries = BinaryPrimitives.ReadInt32BigEndian(snapshot[6..]);
        if (entries < 0 || (long)entries * EntrySize != snapshot.Length - HeaderSize)
        {
            return false;
        }

        for (var i = 0; i < entries; i++)
        {
            var e = snapshot.Slice(HeaderSize + (i * EntrySize), EntrySize);
            var producerId = BinaryPrimitives.ReadInt64BigEndian(e);
            var epoch = BinaryPrimitives.ReadInt16BigEndian(e[8..]);
            var lastSequence = BinaryPrimitives.ReadInt32BigEndian(e[10..]);
            var lastOffset = BinaryPrimitives.ReadInt64BigEndian(e[14..]);
            var offsetDelta = BinaryPrimitives.ReadInt32BigEndian(e[22..]);
            var timestamp = BinaryPrimitives.ReadInt64BigEndian(e[26..]);
            if (!_producers.TryGetValue(producerId, out var entry))
            {
                entry = new ProducerStateEntry(producerId, epoch);
                _producers[producerId] = entry;
            }

            entry.BumpEpoch(epoch);
            entry.CoordinatorEpoch = BinaryPrimitives.ReadInt32BigEndian(e[34..]);
            entry.CurrentTxnFirstOffset = BinaryPrimitives.ReadInt64BigEndian(e[38..]);
            if (lastSequence >= 0 && lastOffset >= 0 && offsetDelta >= 0)
            {
                entry.Add(new BatchMetadata(DecrementSequence(lastSequence, offsetDelta), lastSequence, lastOffset, offsetDelta, timestamp));
            }
            else
            {
                entry.Touch(timestamp);
            }
        }

        _count = _producers.Count;
        return true;
    }

    /// <summary>Sequences wrap from int.MaxValue to 0 (Kafka's DefaultRecordBatch.incrementSequence).</summary>
    internal static int IncrementSequence(int sequence, int increment) =>
        sequence > int.MaxValue - increment ? sequence - (int.MaxValue - increment) - 1 : sequence + increment;

    internal static int DecrementSequence(int sequence, int decrement) =>
        sequence < decrement ? int.MaxValue - (decrement - sequence) + 1 : sequence - decrement;

    private static bool InSequence(int lastSequence, int nextSequence) =>
        nextSequence == lastSequence + 1L || (nextSequence == 0 && lastSequence == int.MaxValue);

    private static void WriteEntry(Span<byte> destination, ProducerStateEntry entry, int lastSequence, long lastOffset, int offsetDelta, long timestamp)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, entry.ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(destination[8..], entry.Epoch);
        BinaryPrimitives.WriteInt32BigEndian(destination[10..], lastSequence);
        BinaryPrimitives.WriteInt64BigEndian(destination[14..], lastOffset);
        BinaryPrimitives.WriteInt32BigEndian(destination[22..], offsetDelta);
        BinaryPrimitives.WriteInt64BigEndian(destination[26..], timestamp);
        BinaryPrimitives.WriteInt32BigEndian(destination[34..], entry.CoordinatorEpoch);
        BinaryPrimitives.WriteInt64BigEndian(destination[38..], entry.CurrentTxnFirstOffset);
    }
}
