using System.Buffers.Binary;
using Broker.Protocol.Records;

namespace Broker.Storage.Tests;

/// <summary>Builds v2 record batches by hand: header, uncompressed records, correct CRC.</summary>
internal static class TestBatches
{
    /// <summary>A batch of <paramref name="count"/> records all stamped <paramref name="timestamp"/>.</summary>
    public static byte[] Create(int count, long timestamp = 1_000, int valueSize = 10, CompressionType compression = CompressionType.None)
    {
        var timestamps = new long[count];
        Array.Fill(timestamps, timestamp);
        return Create(timestamps, valueSize, compression);
    }

    /// <summary>A batch with one record per timestamp (-1 = no timestamp, like a producer without one).</summary>
    public static byte[] Create(long[] timestamps, int valueSize = 10, CompressionType compression = CompressionType.None)
    {
        var baseTimestamp = timestamps[0];
        long maxTimestamp = -1;
        var records = new List<byte>();
        for (var i = 0; i < timestamps.Length; i++)
        {
            maxTimestamp = Math.Max(maxTimestamp, timestamps[i]);
            var body = new List<byte> { 0 }; // attributes
            WriteVarLong(body, timestamps[i] - baseTimestamp);
            WriteVarLong(body, i); // offsetDelta
            WriteVarLong(body, -1); // null key
            WriteVarLong(body, valueSize);
            for (var v = 0; v < valueSize; v++)
            {
                body.Add((byte)(i + v));
            }

            WriteVarLong(body, 0); // headers
            WriteVarLong(records, body.Count);
            records.AddRange(body);
        }

        var batch = new byte[RecordBatchHeader.Size + records.Count];
        var span = batch.AsSpan();
        BinaryPrimitives.WriteInt64BigEndian(span, 0);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchHeader.LengthOffset..], batch.Length - RecordBatchHeader.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchHeader.PartitionLeaderEpochOffset..], -1);
        span[RecordBatchHeader.MagicOffset] = 2;
        BinaryPrimitives.WriteInt16BigEndian(span[RecordBatchHeader.AttributesOffset..], (short)compression);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchHeader.LastOffsetDeltaOffset..], timestamps.Length - 1);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchHeader.BaseTimestampOffset..], baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchHeader.MaxTimestampOffset..], maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchHeader.ProducerIdOffset..], -1);
        BinaryPrimitives.WriteInt16BigEndian(span[RecordBatchHeader.ProducerEpochOffset..], -1);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchHeader.BaseSequenceOffset..], -1);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchHeader.RecordsCountOffset..], timestamps.Length);
        records.CopyTo(batch, RecordBatchHeader.Size);
        RecordBatchHeader.UpdateCrc(span);
        return batch;
    }

    /// <summary>An idempotent producer's batch: <paramref name="count"/> records with producer id, epoch and base sequence.</summary>
    public static byte[] Idempotent(long producerId, short epoch, int baseSequence, int count = 1, long timestamp = 1_000)
    {
        var batch = Create(count, timestamp);
        var span = batch.AsSpan();
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchHeader.ProducerIdOffset..], producerId);
        BinaryPrimitives.WriteInt16BigEndian(span[RecordBatchHeader.ProducerEpochOffset..], epoch);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchHeader.BaseSequenceOffset..], baseSequence);
        RecordBatchHeader.UpdateCrc(span);
        return batch;
    }

    public static byte[] Concat(params byte[][] batches)
    {
        var result = new byte[batches.Sum(b => b.Length)];
        var position = 0;
        foreach (var b in batches)
        {
            b.CopyTo(result, position);
            position += b.Length;
        }

        return result;
    }

    /// <summary>Splits a read result into (baseOffset, lastOffset) per batch, checking each CRC.</summary>
    public static List<(long Base, long Last)> Parse(ReadOnlySpan<byte> bytes)
    {
        var result = new List<(long, long)>();
        while (!bytes.IsEmpty)
        {
            var total = RecordBatchHeader.TotalSize(bytes);
            var batch = bytes[..total];
            Assert.Equal(RecordBatchHeader.Crc(batch), RecordBatchHeader.ComputeCrc(batch));
            result.Add((RecordBatchHeader.BaseOffset(batch), RecordBatchHeader.LastOffset(batch)));
            bytes = bytes[total..];
        }

        return result;
    }

    public static byte[] ReadAll(LogReadResult result)
    {
        var buffer = new byte[result.Length];
        Assert.Equal(result.Length, result.CopyTo(buffer));
        return buffer;
    }

    private static void WriteVarLong(List<byte> output, long value)
    {
        var zigzag = (ulong)((value << 1) ^ (value >> 63));
        while (zigzag >= 0x80)
        {
            output.Add((byte)(zigzag | 0x80));
            zigzag >>= 7;
        }

        output.Add((byte)zigzag);
    }
}

/// <summary>A unique temporary directory, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "broker-storage-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, System.IO.Path.Combine(target, System.IO.Path.GetFileName(file)), overwrite: true);
        }

        foreach (var dir in Directory.GetDirectories(source))
        {
            CopyDirectory(dir, System.IO.Path.Combine(target, System.IO.Path.GetFileName(dir)));
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    public long NowMs => _now.ToUnixTimeMilliseconds();

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Log manager setup shared by the tests: one or more log dirs under a temp dir, deterministic ids.</summary>
internal static class TestLogs
{
    /// <summary>Small segments and indexes so tests roll and copy quickly.</summary>
    public static readonly LogConfig Small = new()
    {
        SegmentBytes = 64 * 1024,
        SegmentIndexBytes = 4096,
        IndexIntervalBytes = 256,
        FileDeleteDelayMs = 0,
    };

    public static LogManager Open(string logDir, TimeProvider time, int nodeId = 1, LogConfig? config = null, string? clusterId = null) =>
        LogManager.Open(Options([logDir], nodeId, config, clusterId), time);

    public static LogManagerOptions Options(string[] dirs, int nodeId = 1, LogConfig? config = null, string? clusterId = null)
    {
        var next = 0;
        return new LogManagerOptions
        {
            LogDirs = dirs,
            NodeId = nodeId,
            ClusterId = clusterId,
            DefaultConfig = config ?? Small,
            TopicConfig = _ => config ?? Small,
            NewGuid = () => new Guid(0x11111111, 0x2222, 0x3333, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, (byte)++next),
        };
    }

    /// <summary>Simulates a crash: closes every file without flushing, sealing, checkpointing or the shutdown marker.</summary>
    public static void Crash(LogManager manager)
    {
        foreach (var log in manager.AllLogs)
        {
            log.Close(flush: false);
        }
    }
}
