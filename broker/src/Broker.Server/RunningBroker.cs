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

    /// <summary>This node's view of the KRaft quorum (role, epoch, leader), or null without controller.quorum.voters.</summary>
    public (RaftRole Role, int Epoch, int LeaderId)? QuorumState => _components.Quorum?.Store.State;

    /// <summary>The partitions this broker hosts, their logs and roles (for tests and tools).</summary>
    public ReplicaManager Replicas => _components.Services.Replicas;

    /// <summary>Kafka's broker state, as /v1/broker-state reports it.</summary>
    public BrokerState State => _status.State;

    /// <summary>Bound health endpoint (health.port; ephemeral port resolved), or null when disabled.</summary>
    public IPEndPoint? HealthEndPoint => _observability.HealthEndPoint;

    /// <summary>Bound Prometheus endpoint (metrics.port; ephemeral port resolved), or null when disabled.</summary>
    public IPEndPoint? MetricsEndPoint => _observability.MetricsEndPoint;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        LogStopping(_logger);
        _status.Set(BrokerState.ShuttingDown);

        if (_components.Quorum is { } leading)
        {
            // First, while the listeners still answer: the other voters elect a successor without waiting for a timeout.
            await leading.ResignAsync().ConfigureAwait(false);
        }

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
