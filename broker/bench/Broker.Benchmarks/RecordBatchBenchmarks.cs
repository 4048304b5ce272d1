using BenchmarkDotNet.Attributes;
using Broker.Protocol.Records;

namespace Broker.Benchmarks;

/// <summary>
/// Produce-path work per batch that does not touch the disk: CRC-32C and full validation of an
/// uncompressed batch of 100-byte records (what librdkafka sends with linger.ms=0 under load).
/// </summary>
[MemoryDiagnoser]
public class RecordBatchBenchmarks
{
    private byte[] _batch = [];

    [Params(1, 100, 1000)]
    public int Records { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using var builder = new RecordBatchBuilder();
        var value = new byte[100];
        for (var i = 0; i < Records; i++)
        {
            builder.Append(1_700_000_000_000 + i, null, value);
        }

        _batch = builder.ToArray();
    }

    [Benchmark]
    public uint Crc32C() => RecordBatchHeader.ComputeCrc(_batch);

    [Benchmark]
    public int Validate() => RecordBatchValidator.Validate(_batch, RecordBatchLimits.Default).RecordCount;
}
