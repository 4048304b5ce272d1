namespace Broker.Cli.Perf;

/// <summary>
/// Holds a sender to a target rate (records per second; negative = unlimited) by telling it how long to
/// pause so that <c>sent</c> records take at least <c>sent / rate</c> seconds. Pauses shorter than a
/// millisecond are accumulated rather than slept. Stateless apart from its settings; thread-safe.
/// </summary>
internal sealed class ThroughputThrottler(double recordsPerSecond)
{
    private static readonly TimeSpan MinimumPause = TimeSpan.FromMilliseconds(1);

    public bool IsUnlimited => recordsPerSecond < 0;

    /// <summary>How long to pause after <paramref name="sent"/> records sent in <paramref name="elapsed"/>.</summary>
    public TimeSpan PauseFor(long sent, TimeSpan elapsed)
    {
        if (IsUnlimited)
        {
            return TimeSpan.Zero;
        }

        var due = TimeSpan.FromSeconds(sent / recordsPerSecond);
        var pause = due - elapsed;
        return pause >= MinimumPause ? pause : TimeSpan.Zero;
    }
}
