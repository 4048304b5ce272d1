namespace Broker.Cluster.Network;

/// <summary>Settings of an inter-broker connection (<see cref="KafkaClientConnection"/>). Immutable.</summary>
/// <param name="ClientId">The request header's client id (Kafka's fetchers send "broker-{id}-fetcher-{n}").</param>
/// <param name="RequestTimeoutMs">How long a request waits for its response before the connection is closed
/// (replica.socket.timeout.ms for fetchers, as in Kafka).</param>
/// <param name="ReconnectBackoffMs">reconnect.backoff.ms: the wait before the first reconnect after a failure.</param>
/// <param name="ReconnectBackoffMaxMs">reconnect.backoff.max.ms: the cap of the exponential reconnect backoff.</param>
/// <param name="MaxResponseBytes">A larger response frame closes the connection before it is buffered.</param>
/// <param name="ContinueOnReader">The code awaiting a response goes on on the connection's read loop instead of being
/// queued to the thread pool: one thread hand-off less per response. Only for a connection with one owner that awaits
/// one request at a time and does nothing long or blocking after the await (a replica fetcher): meanwhile the read loop
/// reads nothing else.</param>
public sealed record KafkaClientOptions(
    string ClientId,
    int RequestTimeoutMs = 30_000,
    int ReconnectBackoffMs = 50,
    int ReconnectBackoffMaxMs = 1_000,
    int MaxResponseBytes = 100 * 1024 * 1024,
    bool ContinueOnReader = false);

/// <summary>
/// Kafka's client reconnect backoff (ExponentialBackoff with multiplier 2 and 20 % jitter): the wait after
/// <c>failures</c> consecutive failed connections. Stateless; thread-safe.
/// </summary>
public static class ReconnectBackoff
{
    private const double Jitter = 0.2;

    /// <param name="failures">Consecutive failures so far, at least 1.</param>
    /// <param name="random01">A uniform random number in [0, 1) (injected, so tests are deterministic).</param>
    public static TimeSpan Compute(int failures, int initialMs, int maxMs, double random01)
    {
        if (initialMs <= 0)
        {
            return TimeSpan.Zero;
        }

        var cap = Math.Max(initialMs, maxMs);
        var exponent = Math.Clamp(failures - 1, 0, 30);
        var term = Math.Min(cap, initialMs * Math.Pow(2, exponent));
        var factor = 1 - Jitter + (2 * Jitter * random01);
        return TimeSpan.FromMilliseconds(Math.Min(cap, term * factor));
    }
}

/// <summary>
/// The connection to the other side failed or was closed before a response arrived (connect refused, reset, request
/// timeout, malformed response). The request may or may not have been processed. Immutable; thread-safe.
/// </summary>
public sealed class KafkaConnectionException : Exception
{
    public KafkaConnectionException(string message) : base(message)
    {
    }

    public KafkaConnectionException(string message, Exception inner) : base(message, inner)
    {
    }

    public KafkaConnectionException()
    {
    }
}
