using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Broker.Protocol.Records;
using Broker.Storage;

namespace Broker.Benchmarks;

/// <summary>
/// The storage append path: one validated 100-record batch (100-byte values) appended to a partition log
/// in the page cache, offsets assigned in place. Allocations here would be paid per produce request.
/// </summary>
[MemoryDiagnoser]
public class AppendBenchmarks
{
    private string _dir = string.Empty;
    private LogManager? _logs;
    private PartitionLog? _log;
    private byte[] _batch = [];
    private PartitionLog? _idempotentLog;
    private byte[] _idempotentBatch = [];
    private int _nextSequence;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("append-bench-").FullName;
        _logs = LogManager.Open(new LogManagerOptions([_dir], 1, null, LogConfig.Default), TimeProvider.System);
        _log = _logs.GetOrCreateLog("bench", 0, Guid.NewGuid(), BoundedConfig);
        using var builder = new RecordBatchBuilder();
        var value = new byte[100];
        for (var i = 0; i < 100; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, value);
        }

        _batch = builder.ToArray();
        _idempotentLog = _logs.GetOrCreateLog("bench-idempotent", 0, Guid.NewGuid(), BoundedConfig);
        _idempotentBatch = builder.ToArray();
        BinaryPrimitives.WriteInt64BigEndian(_idempotentBatch.AsSpan(RecordBatchHeader.ProducerIdOffset), 4242);
        BinaryPrimitives.WriteInt16BigEndian(_idempotentBatch.AsSpan(RecordBatchHeader.ProducerEpochOffset), 0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _logs?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    // Millions of iterations would fill the disk: old segments are dropped every TrimInterval appends (amortised
    // well under 1% of an append).
    private const int TrimInterval = 4096;
    private static readonly LogConfig BoundedConfig = LogConfig.Default with
    {
        SegmentBytes = 64 * 1024 * 1024,
        RetentionBytes = 128L * 1024 * 1024,
        RetentionMs = -1,
        FileDeleteDelayMs = 0,
    };

    private int _appends;

    [Benchmark]
    public long Append100Records()
    {
        Trim();
        return _log!.Append(_batch, 0, 1_700_000_000_000, logAppendTime: false).LastOffset;
    }

    /// <summary>The same batch from an idempotent producer on the client path: epoch and sequence checked, state updated.</summary>
    [Benchmark]
    public long IdempotentAppend100Records()
    {
        BinaryPrimitives.WriteInt32BigEndian(_idempotentBatch.AsSpan(RecordBatchHeader.BaseSequenceOffset), _nextSequence);
        _nextSequence = _nextSequence > int.MaxValue - 200 ? 0 : _nextSequence + 100;
        Trim();
        return _idempotentLog!.Append(_idempotentBatch, 0, 1_700_000_000_000, logAppendTime: false, AppendOrigin.Client).LastOffset;
    }

    [Benchmark]
    public int ValidateThenAppend100Records()
    {
        Trim();
        var result = RecordBatchValidator.Validate(_batch, RecordBatchLimits.Default);
        _log!.Append(_batch, 0, 1_700_000_000_000, logAppendTime: false);
        return result.RecordCount;
    }

    private void Trim()
    {
        if (++_appends % TrimInterval != 0)
        {
            return;
        }

        foreach (var log in new[] { _log!, _idempotentLog! })
        {
            log.HighWatermark = log.LogEndOffset;
            log.ApplyRetention(1_700_000_000_000);
            log.DeleteRetiredSegments(0, all: true);
        }
    }
}
