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

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("append-bench-").FullName;
        _logs = LogManager.Open(new LogManagerOptions([_dir], 1, null, LogConfig.Default), TimeProvider.System);
        _log = _logs.GetOrCreateLog("bench", 0, Guid.NewGuid(), LogConfig.Default with { SegmentBytes = 256 * 1024 * 1024 });
        using var builder = new RecordBatchBuilder();
        var value = new byte[100];
        for (var i = 0; i < 100; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, value);
        }

        _batch = builder.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _logs?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public long Append100Records() => _log!.Append(_batch, 0, 1_700_000_000_000, logAppendTime: false).LastOffset;

    [Benchmark]
    public int ValidateThenAppend100Records()
    {
        var result = RecordBatchValidator.Validate(_batch, RecordBatchLimits.Default);
        _log!.Append(_batch, 0, 1_700_000_000_000, logAppendTime: false);
        return result.RecordCount;
    }
}
