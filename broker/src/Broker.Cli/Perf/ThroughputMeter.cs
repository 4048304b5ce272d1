namespace Broker.Cli.Perf;

/// <summary>Counts records and bytes of a consumer run, in total and per reporting window. Owned by the consuming thread.</summary>
internal sealed class ThroughputMeter
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _reportInterval;
    private readonly long _startTimestamp;
    private long _windowStart;
    private long _windowRecords;
    private long _windowBytes;

    public ThroughputMeter(TimeProvider time, TimeSpan reportInterval)
    {
        _time = time;
        _reportInterval = reportInterval;
        _startTimestamp = _windowStart = time.GetTimestamp();
    }

    public long Records { get; private set; }

    public long Bytes { get; private set; }

    /// <summary>Counts one record; returns the window just closed when the report interval has passed.</summary>
    public PerfWindow? Record(int bytes)
    {
        Records++;
        Bytes += bytes;
        _windowRecords++;
        _windowBytes += bytes;
        return MaybeCloseWindow();
    }

    /// <summary>Closes the window if the interval has passed even without records (a stalled run still reports).</summary>
    public PerfWindow? MaybeCloseWindow()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_windowStart, now);
        if (elapsed < _reportInterval)
        {
            return null;
        }

        var window = new PerfWindow(_windowRecords, _windowBytes, elapsed, 0, 0);
        _windowStart = now;
        _windowRecords = _windowBytes = 0;
        return window;
    }

    public PerfWindow Total() => new(Records, Bytes, _time.GetElapsedTime(_startTimestamp), 0, 0);
}
