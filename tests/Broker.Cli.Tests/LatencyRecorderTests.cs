using Broker.Cli.Perf;

namespace Broker.Cli.Tests;

public sealed class LatencyRecorderTests
{
    [Fact]
    public void Percentile_OneToHundred_NearestRank()
    {
        var sorted = Enumerable.Range(1, 100).ToArray();

        Assert.Equal(50, LatencyRecorder.Percentile(sorted, 0.5));
        Assert.Equal(95, LatencyRecorder.Percentile(sorted, 0.95));
        Assert.Equal(99, LatencyRecorder.Percentile(sorted, 0.99));
        Assert.Equal(100, LatencyRecorder.Percentile(sorted, 0.999));
        Assert.Equal(100, LatencyRecorder.Percentile(sorted, 1));
        Assert.Equal(1, LatencyRecorder.Percentile(sorted, 0));
    }

    [Fact]
    public void Percentile_ThousandSamples_P999IsSecondLargest()
    {
        var sorted = Enumerable.Range(1, 1000).ToArray();

        Assert.Equal(999, LatencyRecorder.Percentile(sorted, 0.999));
        Assert.Equal(500, LatencyRecorder.Percentile(sorted, 0.5));
    }

    [Fact]
    public void Percentile_SmallSamples_Clamped()
    {
        Assert.Equal(0, LatencyRecorder.Percentile([], 0.5));
        Assert.Equal(7, LatencyRecorder.Percentile([7], 0.5));
        Assert.Equal(7, LatencyRecorder.Percentile([7], 0.999));
        Assert.Equal(1, LatencyRecorder.Percentile([1, 2], 0.5));
        Assert.Equal(2, LatencyRecorder.Percentile([1, 2], 0.51));
    }

    [Fact]
    public void Percentile_FractionOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyRecorder.Percentile([1], 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LatencyRecorder.Percentile([1], -0.1));
    }

    [Fact]
    public void Summarize_RecordedLatencies_TotalsAndPercentiles()
    {
        var time = new ManualTime();
        var recorder = new LatencyRecorder(100, time, TimeSpan.FromHours(1));
        for (var i = 100; i >= 1; i--)
        {
            recorder.Record(TimeSpan.FromMilliseconds(i), 1024);
        }

        recorder.RecordError();
        time.Advance(TimeSpan.FromSeconds(2));

        var summary = recorder.Summarize();

        Assert.Equal(100, summary.Total.Records);
        Assert.Equal(102400, summary.Total.Bytes);
        Assert.Equal(1, summary.Errors);
        Assert.Equal(50.5, summary.Total.AvgLatencyMs, 6);
        Assert.Equal(100, summary.Total.MaxLatencyMs, 6);
        Assert.Equal(50, summary.P50Ms, 6);
        Assert.Equal(95, summary.P95Ms, 6);
        Assert.Equal(99, summary.P99Ms, 6);
        Assert.Equal(100, summary.P999Ms, 6);
        Assert.Equal(50, summary.Total.RecordsPerSecond, 6);
        Assert.Equal(102400 / (1024.0 * 1024) / 2, summary.Total.MegabytesPerSecond, 9);
    }

    [Fact]
    public void Record_MoreRecordsThanSamples_KeepsEveryKth()
    {
        var time = new ManualTime();
        var recorder = new LatencyRecorder(1000, time, TimeSpan.FromHours(1), maxSamples: 10);
        for (var i = 0; i < 1000; i++)
        {
            // Records 0, 100, 200, ... are sampled; give them 1..10 ms and the rest 1000 ms.
            var ms = i % 100 == 0 ? (i / 100) + 1 : 1000;
            recorder.Record(TimeSpan.FromMilliseconds(ms), 1);
        }

        var summary = recorder.Summarize();

        Assert.Equal(1000, summary.Total.Records);
        Assert.Equal(1000, summary.Total.MaxLatencyMs, 6);
        Assert.Equal(5, summary.P50Ms, 6);
        Assert.Equal(10, summary.P999Ms, 6);
    }

    [Fact]
    public void Record_IntervalElapsed_ReturnsWindowAndResets()
    {
        var time = new ManualTime();
        var recorder = new LatencyRecorder(10, time, TimeSpan.FromSeconds(5));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(recorder.Record(TimeSpan.FromMilliseconds(2), 100));
        time.Advance(TimeSpan.FromSeconds(4));
        var window = recorder.Record(TimeSpan.FromMilliseconds(4), 100);

        Assert.NotNull(window);
        Assert.Equal(2, window.Value.Records);
        Assert.Equal(200, window.Value.Bytes);
        Assert.Equal(TimeSpan.FromSeconds(5), window.Value.Elapsed);
        Assert.Equal(3, window.Value.AvgLatencyMs, 6);
        Assert.Equal(4, window.Value.MaxLatencyMs, 6);
        Assert.Equal(0.4, window.Value.RecordsPerSecond, 6);

        time.Advance(TimeSpan.FromSeconds(5));
        var next = recorder.Record(TimeSpan.FromMilliseconds(1), 100);
        Assert.Equal(1, next!.Value.Records);
        Assert.Equal(1, next.Value.MaxLatencyMs, 6);
    }

    [Fact]
    public void Summarize_NothingRecorded_Zeros()
    {
        var summary = new LatencyRecorder(0, new ManualTime(), TimeSpan.FromSeconds(5)).Summarize();

        Assert.Equal(0, summary.Total.Records);
        Assert.Equal(0, summary.Total.RecordsPerSecond);
        Assert.Equal(0, summary.P99Ms);
    }
}
