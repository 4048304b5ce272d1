using System.Buffers.Binary;
using Broker.Cluster.Raft;
using Broker.Protocol.Records;
using Broker.Storage;

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

/// <summary>
/// The two <see cref="IRaftLog"/> kinds a contract test runs against: in memory, and segment-backed in a temporary
/// directory (node 1's <c>__cluster_metadata-0</c>, reopenable after <see cref="CloseLast"/>). Owned by one test; not thread-safe.
/// </summary>
internal sealed class RaftLogKinds : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raft-log-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(1_700_000_000_000);
    private readonly List<LogManager> _managers = [];

    /// <summary>The kinds, for <c>[MemberData]</c>: "memory" and "partition".</summary>
    public static TheoryData<string> Kinds => new() { "memory", "partition" };

    /// <summary>The log manager of the segment-backed log opened last.</summary>
    public LogManager LastManager => _managers[^1];

    public IRaftLog Create(string kind) => kind == "memory" ? new MemoryRaftLog() : Open();

    /// <summary>Opens (or reopens) the segment-backed log.</summary>
    public PartitionRaftLog Open()
    {
        var options = new LogManagerOptions([_root], 1, "MkU3OEVBNTcwNTJENDM2Qg", LogConfig.Default);
        var manager = LogManager.Open(options, _time);
        _managers.Add(manager);
        return PartitionRaftLog.Open(manager, _time);
    }

    /// <summary>Closes the segment-backed log opened last, as a stopping node does, so <see cref="Open"/> reopens it.</summary>
    public void CloseLast()
    {
        _managers[^1].Dispose();
        _managers.RemoveAt(_managers.Count - 1);
    }

    public void Dispose()
    {
        foreach (var manager in _managers)
        {
            manager.Dispose();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
