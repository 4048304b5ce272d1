using Broker.Cli.Perf;

namespace Broker.Cli.Tests;

public sealed class ThroughputTests
{
    [Fact]
    public void PauseFor_Unlimited_NeverPauses()
    {
        var throttler = new ThroughputThrottler(-1);

        Assert.True(throttler.IsUnlimited);
        Assert.Equal(TimeSpan.Zero, throttler.PauseFor(1_000_000, TimeSpan.Zero));
    }

    [Fact]
    public void PauseFor_AheadOfRate_PausesUntilDue()
    {
        var throttler = new ThroughputThrottler(1000);

        Assert.Equal(TimeSpan.FromMilliseconds(400), throttler.PauseFor(500, TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void PauseFor_BehindOrWithinAMillisecond_NoPause()
    {
        var throttler = new ThroughputThrottler(1000);

        Assert.Equal(TimeSpan.Zero, throttler.PauseFor(500, TimeSpan.FromMilliseconds(600)));
        Assert.Equal(TimeSpan.Zero, throttler.PauseFor(1, TimeSpan.FromMilliseconds(0.5)));
    }

    [Fact]
    public void ThroughputMeter_Windows_CountRecordsAndBytes()
    {
        var time = new ManualTime();
        var meter = new ThroughputMeter(time, TimeSpan.FromSeconds(5));

        Assert.Null(meter.Record(10));
        time.Advance(TimeSpan.FromSeconds(5));
        var window = meter.Record(30);
        time.Advance(TimeSpan.FromSeconds(5));
        var idle = meter.MaybeCloseWindow();

        Assert.Equal((2L, 40L), (window!.Value.Records, window.Value.Bytes));
        Assert.Equal(0, idle!.Value.Records);
        var total = meter.Total();
        Assert.Equal((2L, 40L, TimeSpan.FromSeconds(10)), (total.Records, total.Bytes, total.Elapsed));
        Assert.Equal(0.2, total.RecordsPerSecond, 6);
    }

    [Fact]
    public void ProducerSummary_Format_ListsThroughputAndPercentiles()
    {
        var summary = new ProducerPerfSummary(
            new PerfWindow(1000, 1024 * 1024, TimeSpan.FromSeconds(2), 1.5, 9.25), 0, 1, 2, 3, 4.5);

        Assert.Equal(
            "1000 records sent, 500.0 records/sec (0.50 MB/sec), 1.50 ms avg latency, 9.25 ms max latency, " +
            "1.00 ms p50, 2.00 ms p95, 3.00 ms p99, 4.50 ms p99.9.",
            PerfFormat.ProducerSummary(summary));
    }

    [Fact]
    public void CreatePayload_Size_UppercaseLettersDeterministic()
    {
        var a = ProducerPerf.CreatePayload(100);

        Assert.Equal(100, a.Length);
        Assert.All(a, b => Assert.InRange(b, (byte)'A', (byte)'Z'));
        Assert.Equal(a, ProducerPerf.CreatePayload(100));
    }
}
