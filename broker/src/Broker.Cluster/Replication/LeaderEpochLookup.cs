using Broker.Protocol.Records;
using Broker.Storage;

namespace Broker.Cluster.Replication;

/// <summary>
/// Kafka's leader-epoch end-offset lookup (LeaderEpochFileCache.endOffsetFor) for OffsetForLeaderEpoch, answered from
/// what the log holds: every batch carries the epoch of the leader that appended it, and the current epoch starts
/// where batches of lower epochs end (the log end when it has none yet). There is no leader-epoch-checkpoint file yet,
/// so an older epoch is found by scanning batch headers from the log start; on one node the epoch never changes and
/// the common question (the current epoch) is answered without reading. Stateless; thread-safe.
/// </summary>
public static class LeaderEpochLookup
{
    /// <summary>Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET.</summary>
    public const int UndefinedEpoch = -1;
    public const long UndefinedOffset = -1;

    private const int ChunkBytes = 1 << 20;

    /// <summary>
    /// The largest epoch ≤ <paramref name="requestedEpoch"/> the log knows and the offset where it ends: the log end for
    /// the current epoch, the first offset of the next higher epoch otherwise, (-1, -1) above the current epoch.
    /// </summary>
    public static (int Epoch, long EndOffset) EndOffsetFor(PartitionLog log, int currentEpoch, int requestedEpoch)
    {
        if (requestedEpoch == UndefinedEpoch || requestedEpoch > currentEpoch)
        {
            return (UndefinedEpoch, UndefinedOffset);
        }

        var end = log.LogEndOffset;
        if (requestedEpoch == currentEpoch)
        {
            return (currentEpoch, end);
        }

        int? floorEpoch = null;
        var offset = log.LogStartOffset;
        var buffer = new byte[ChunkBytes];
        while (offset < end)
        {
            var read = log.Read(offset, buffer.Length, end, minOneBatch: true);
            if (read.OffsetOutOfRange || read.IsEmpty)
            {
                break;
            }

            if (read.Length > buffer.Length)
            {
                buffer = new byte[read.Length];
            }

            var bytes = buffer.AsSpan(0, read.CopyTo(buffer.AsSpan(0, read.Length)));
            while (bytes.Length >= RecordBatchHeader.Size)
            {
                var epoch = RecordBatchHeader.PartitionLeaderEpoch(bytes);
                if (epoch > requestedEpoch)
                {
                    // The first batch of a higher epoch ends the requested one.
                    return (floorEpoch ?? requestedEpoch, RecordBatchHeader.BaseOffset(bytes));
                }

                if (epoch >= 0)
                {
                    floorEpoch = epoch;
                }

                offset = RecordBatchHeader.LastOffset(bytes) + 1;
                bytes = bytes[RecordBatchHeader.TotalSize(bytes)..];
            }
        }

        // No batch of a later epoch: the current epoch began at the log end.
        return (floorEpoch ?? requestedEpoch, end);
    }
}
