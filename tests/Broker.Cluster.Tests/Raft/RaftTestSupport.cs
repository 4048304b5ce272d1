using System.Buffers.Binary;
using Broker.Cluster.Raft;
using Broker.Protocol.Records;

namespace Broker.Cluster.Tests.Raft;

/// <summary>A clock the test moves by hand. Not thread-safe.</summary>
internal sealed class ManualTime : TimeProvider
{
    public ManualTime(long nowMs) => NowMs = nowMs;

    public long NowMs { get; set; }

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);
}

/// <summary>Builders for test batches and values. Stateless.</summary>
internal static class RaftTestData
{
    /// <summary>One batch of <paramref name="count"/> records whose values are 8-byte big-endian numbers from <paramref name="first"/>.</summary>
    public static byte[] Batch(int count, long first = 0, long baseOffset = 0, int epoch = -1)
    {
        using var builder = new RecordBatchBuilder { BaseOffset = baseOffset, PartitionLeaderEpoch = epoch };
        for (var i = 0; i < count; i++)
        {
            builder.Append(1_000, null, Value(first + i));
        }

        return builder.ToArray();
    }

    public static byte[] Value(long number)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, number);
        return bytes;
    }

    /// <summary>(base offset, last offset, epoch) of every batch in <paramref name="bytes"/>.</summary>
    public static List<(long Base, long Last, int Epoch)> Batches(ReadOnlyMemory<byte> bytes)
    {
        var result = new List<(long, long, int)>();
        var position = 0;
        while (position < bytes.Length)
        {
            var span = bytes.Span[position..];
            result.Add((RecordBatchHeader.BaseOffset(span), RecordBatchHeader.LastOffset(span), RecordBatchHeader.PartitionLeaderEpoch(span)));
            position += RecordBatchHeader.TotalSize(span);
        }

        return result;
    }

    /// <summary>Reads the whole log (from its start) as batch summaries.</summary>
    public static List<(long Base, long Last, int Epoch)> ReadAll(IRaftLog log)
    {
        var result = new List<(long, long, int)>();
        var offset = log.StartOffset;
        while (offset < log.EndOffset.Offset)
        {
            var batches = Batches(log.Read(offset, 1 << 20));
            if (batches.Count == 0)
            {
                break;
            }

            result.AddRange(batches);
            offset = batches[^1].Last + 1;
        }

        return result;
    }
}
