namespace Broker.Cli.Perf;

/// <summary>Throughput and latency of one reporting window (or of a whole run).</summary>
internal readonly record struct PerfWindow(long Records, long Bytes, TimeSpan Elapsed, double AvgLatencyMs, double MaxLatencyMs)
{
    public double RecordsPerSecond => Elapsed > TimeSpan.Zero ? Records / Elapsed.TotalSeconds : 0;

    public double MegabytesPerSecond => Elapsed > TimeSpan.Zero ? Bytes / PerfFormat.BytesPerMegabyte / Elapsed.TotalSeconds : 0;
}

/// <summary>The end-of-run figures of a producer run; latencies in milliseconds.</summary>
internal readonly record struct ProducerPerfSummary(PerfWindow Total, long Errors, double P50Ms, double P95Ms, double P99Ms, double P999Ms);

/// <summary>
/// Records send-to-delivery latencies of a producer run: totals, the current reporting window, and a
/// preallocated sample of latencies for the percentiles (every k-th record, with k chosen from the expected
/// record count so that at most <c>maxSamples</c> are kept). Recording allocates nothing except the rare
/// window report. Thread-safe: delivery reports record while the sending thread reads summaries.
/// </summary>
internal sealed class LatencyRecorder
{
    public const int DefaultMaxSamples = 500_000;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _reportInterval;
    private readonly long _startTimestamp;
    private readonly int[] _samplesMicros;
    private readonly long _sampleEvery;
    private int _sampleCount;
    private long _index;
    private long _records;
    private long _bytes;
    private long _errors;
    private long _totalMicros;
    private long _maxMicros;
    private long _windowStart;
    private long _windowRecords;
    private long _windowBytes;
    private long _windowTotalMicros;
    private long _windowMaxMicros;

    public LatencyRecorder(long expectedRecords, TimeProvider time, TimeSpan reportInterval, int maxSamples = DefaultMaxSamples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedRecords);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSamples, 1);
        _time = time;
        _reportInterval = reportInterval;
        _sampleEvery = Math.Max(1, expectedRecords / maxSamples);
        _samplesMicros = new int[(int)Math.Min(maxSamples, (expectedRecords / _sampleEvery) + 1)];
        _startTimestamp = _windowStart = time.GetTimestamp();
    }

    /// <summary>Records one delivered record; returns the window just closed when the report interval has passed.</summary>
    public PerfWindow? Record(TimeSpan latency, int bytes)
    {
        var micros = Math.Max(0, (long)(latency.Ticks / (double)TimeSpan.TicksPerMicrosecond));
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_index++ % _sampleEvery == 0 && _sampleCount < _samplesMicros.Length)
            {
                _samplesMicros[_sampleCount++] = (int)Math.Min(micros, int.MaxValue);
            }

            _records++;
            _bytes += bytes;
            _totalMicros += micros;
            _maxMicros = Math.Max(_maxMicros, micros);
            _windowRecords++;
            _windowBytes += bytes;
            _windowTotalMicros += micros;
            _windowMaxMicros = Math.Max(_windowMaxMicros, micros);

            var windowElapsed = _time.GetElapsedTime(_windowStart, now);
            if (windowElapsed < _reportInterval)
            {
                return null;
            }

            var window = new PerfWindow(_windowRecords, _windowBytes, windowElapsed,
                Average(_windowTotalMicros, _windowRecords), _windowMaxMicros / 1000.0);
            _windowStart = now;
            _windowRecords = _windowBytes = _windowTotalMicros = _windowMaxMicros = 0;
            return window;
        }
    }

    /// <summary>Counts a failed delivery; it contributes to neither throughput nor latency.</summary>
    public void RecordError()
    {
        lock (_lock)
        {
            _errors++;
        }
    }

    public ProducerPerfSummary Summarize()
    {
        int[] sorted;
        PerfWindow total;
        long errors;
        lock (_lock)
        {
            sorted = _samplesMicros.AsSpan(0, _sampleCount).ToArray();
            total = new PerfWindow(_records, _bytes, _time.GetElapsedTime(_startTimestamp),
                Average(_totalMicros, _records), _maxMicros / 1000.0);
            errors = _errors;
        }

        Array.Sort(sorted);
        return new ProducerPerfSummary(total, errors,
            Percentile(sorted, 0.5) / 1000.0, Percentile(sorted, 0.95) / 1000.0,
            Percentile(sorted, 0.99) / 1000.0, Percentile(sorted, 0.999) / 1000.0);
    }

    /// <summary>
    /// Nearest-rank percentile of an ascending sample: the smallest value with at least
    /// <paramref name="fraction"/> of the sample at or below it; 0 for an empty sample.
    /// </summary>
    public static int Percentile(ReadOnlySpan<int> sorted, double fraction)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fraction, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1);
        if (sorted.IsEmpty)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(fraction * sorted.Length);
        return sorted[(int)Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static double Average(long totalMicros, long count) => count == 0 ? 0 : totalMicros / 1000.0 / count;
}
