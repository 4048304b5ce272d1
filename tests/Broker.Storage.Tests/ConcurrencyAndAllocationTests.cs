namespace Broker.Storage.Tests;

public sealed class ConcurrencyAndAllocationTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();
    private readonly LogManager _manager;

    public ConcurrencyAndAllocationTests()
    {
        _manager = TestLogs.Open(_dir.Path, _time);
    }

    public void Dispose()
    {
        _manager.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Read_ConcurrentWithAppendsAndRolls_SeesOnlyWholeContiguousBatches()
    {
        var config = TestLogs.Small with { SegmentBytes = 8 * 1024, IndexIntervalBytes = 128 };
        var log = _manager.GetOrCreateLog("race", 0, Guid.NewGuid(), config);
        const int Appends = 3_000;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var done = new CancellationTokenSource();

        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            var buffer = new byte[64 * 1024];
            while (!done.IsCancellationRequested)
            {
                var end = log.LogEndOffset;
                var fetch = end == 0 ? 0 : random.NextInt64(Math.Max(0, end - 50), end + 1);
                var result = log.Read(fetch, random.Next(1, 4_000), long.MaxValue, minOneBatch: true);
                if (result.Error != LogReadError.None)
                {
                    failures.Enqueue($"error {result.Error} at {fetch} (end {end})");
                    continue;
                }

                var count = result.CopyTo(buffer);
                var expected = fetch;
                try
                {
                    foreach (var (first, last) in TestBatches.Parse(buffer.AsSpan(0, count)))
                    {
                        if (first > expected || last < expected)
                        {
                            failures.Enqueue($"batch [{first}, {last}] where {expected} was expected");
                        }

                        expected = last + 1;
                    }
                }
                catch (Exception ex) when (ex is Xunit.Sdk.XunitException or ArgumentOutOfRangeException)
                {
                    failures.Enqueue($"torn read at {fetch}: {ex.Message}");
                }
            }
        })).ToArray();

        for (var i = 0; i < Appends; i++)
        {
            log.Append(TestBatches.Create((i % 4) + 1, valueSize: i % 100), 0, _time.NowMs, false);
        }

        done.Cancel();
        await Task.WhenAll(readers);

        Assert.Empty(failures);
        Assert.True(log.SegmentCount > 10);
    }

    [Fact]
    public void Append_SteadyState_AllocatesNothing()
    {
        var log = _manager.GetOrCreateLog("alloc", 0, Guid.NewGuid(), LogConfig.Default with { SegmentIndexBytes = 64 * 1024, IndexIntervalBytes = 256 });
        var batches = Enumerable.Range(0, 200).Select(_ => TestBatches.Create(5, valueSize: 20)).ToArray();
        for (var i = 0; i < 100; i++)
        {
            log.Append(batches[i], 0, 0, logAppendTime: i % 2 == 0);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 100; i < 200; i++)
        {
            log.Append(batches[i], 0, 0, logAppendTime: i % 2 == 0);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Read_SteadyState_AllocatesNothing()
    {
        var log = _manager.GetOrCreateLog("alloc", 0, Guid.NewGuid(), TestLogs.Small);
        for (var i = 0; i < 200; i++)
        {
            log.Append(TestBatches.Create(3, valueSize: 20), 0, 0, false);
        }

        var buffer = new byte[1 << 20];
        for (var i = 0; i < 50; i++)
        {
            log.Read(i, 4096, log.LogEndOffset, true).CopyTo(buffer);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 500; i++)
        {
            log.Read(i, 4096, log.LogEndOffset, true).CopyTo(buffer);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
