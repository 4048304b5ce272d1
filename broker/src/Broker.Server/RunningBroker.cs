using System.Net;
using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Cluster.Replication;
using Broker.Server.Network;
using Broker.Server.Observability;
using Broker.Server.Raft;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Handle to a started broker. <see cref="DisposeAsync"/> performs the graceful shutdown: stop accepting,
/// finish in-flight requests, flush, checkpoint and write the clean-shutdown marker. Thread-safe.
/// </summary>
public sealed partial class RunningBroker : IAsyncDisposable
{
    private readonly KafkaSocketServer _server;
    private readonly BrokerComponents _components;
    private readonly QuorumMembership? _membership;
    private readonly LogMaintenance _maintenance;
    private readonly PeriodicTicker[] _tickers;
    private readonly BrokerStatus _status;
    private readonly ObservabilityEndpoints _observability;
    private readonly ILogger _logger;
    private int _disposed;

    /// <summary>
    /// How long a stopping broker waits for the controller to grant its controlled shutdown. Kafka bounds it only by the
    /// process's own shutdown timeout; a grant normally takes a few heartbeat intervals, and a broker that cannot reach
    /// the controller is fenced by its session timeout anyway, so 30 s only stops an unreachable controller from holding
    /// the shutdown forever.
    /// </summary>
    internal static readonly TimeSpan ControlledShutdownBound = TimeSpan.FromSeconds(30);

    internal RunningBroker(KafkaSocketServer server, BrokerComponents components, QuorumMembership? membership, LogMaintenance maintenance, PeriodicTicker[] tickers, BrokerStatus status,
        ObservabilityEndpoints observability, ILogger logger)
    {
        _server = server;
        _components = components;
        _membership = membership;
        _maintenance = maintenance;
        _tickers = tickers;
        _status = status;
        _observability = observability;
        _logger = logger;
    }

    /// <summary>Bound socket per listener name (ephemeral ports resolved).</summary>
    public IReadOnlyList<(string Listener, IPEndPoint EndPoint)> Endpoints => _server.BoundEndpoints;

    /// <summary>"host:port" of the first listener, for client bootstrap.</summary>
    public string BootstrapServers
    {
        get
        {
            var endPoint = Endpoints[0].EndPoint;
            return $"{endPoint.Address}:{endPoint.Port}";
        }
    }

    public MetadataImage Metadata => _components.Metadata.Image;

    /// <summary>This node's view of the KRaft quorum (role, epoch, leader); a node without controller.quorum.voters is a
    /// quorum of itself. Null only for brokers sharing an in-process store (tests).</summary>
    public (RaftRole Role, int Epoch, int LeaderId)? QuorumState => (_components.Quorum?.Store ?? _components.SoleVoter)?.State;

    /// <summary>The partitions this broker hosts, their logs and roles (for tests and tools).</summary>
    public ReplicaManager Replicas => _components.Services.Replicas;

    /// <summary>
    /// This node's metadata image as it began closing its listeners (null while running): the newest metadata its last
    /// responses can have carried. Tests read it to check a controlled shutdown moved the leaderships first.
    /// </summary>
    public MetadataImage? ImageAtListenerStop { get; private set; }

    /// <summary>Kafka's broker state, as /v1/broker-state reports it.</summary>
    public BrokerState State => _status.State;

    /// <summary>Bound health endpoint (health.port; ephemeral port resolved), or null when disabled.</summary>
    public IPEndPoint? HealthEndPoint => _observability.HealthEndPoint;

    /// <summary>Bound Prometheus endpoint (metrics.port; ephemeral port resolved), or null when disabled.</summary>
    public IPEndPoint? MetricsEndPoint => _observability.MetricsEndPoint;

    /// <summary>The graceful shutdown, with a KRaft controlled shutdown first.</summary>
    public ValueTask DisposeAsync() => StopAsync(controlledShutdown: true);

    /// <summary>
    /// The graceful shutdown; <paramref name="controlledShutdown"/> false skips asking the controller to move this broker's
    /// leaderships first (they move when its session expires, as after a crash): for tests of that path.
    /// </summary>
    public async ValueTask StopAsync(bool controlledShutdown)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_membership is not null && controlledShutdown)
        {
            // KRaft controlled shutdown, while everything still serves: the controller moves this broker's leaderships
            // away, and the followers keep fetching from it to join the new leaders' ISRs.
            _status.Set(BrokerState.PendingControlledShutdown);
            await _membership.ControlledShutdownAsync(ControlledShutdownBound).ConfigureAwait(false);
        }

        LogStopping(_logger);
        _status.Set(BrokerState.ShuttingDown);

        if (_components.Quorum is { } leading)
        {
            // Then, while the listeners still answer: the other voters elect a successor without waiting for a timeout.
            await leading.ResignAsync().ConfigureAwait(false);
        }

        ImageAtListenerStop = _components.Metadata.Image;

        // Followers stop appending before anything else closes (Kafka's ReplicaManager shuts its fetchers down first).
        await _components.Fetchers.DisposeAsync().ConfigureAwait(false);
        await _server.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        if (_membership is not null)
        {
            await _membership.DisposeAsync().ConfigureAwait(false);
        }

        if (_components.Quorum is { } quorum)
        {
            await quorum.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var ticker in _tickers)
        {
            await ticker.DisposeAsync().ConfigureAwait(false);
        }
        await _maintenance.DisposeAsync().ConfigureAwait(false);
        _components.Dispose();
        _status.Set(BrokerState.NotRunning);
        await _observability.DisposeAsync().ConfigureAwait(false);
        LogStopped(_logger);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker stopping: closing listeners and finishing in-flight requests")]
    private static partial void LogStopping(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker stopped cleanly")]
    private static partial void LogStopped(ILogger logger);
}
