using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Server.Configuration;
using Broker.Server.Network;
using Broker.Server.Observability;
using Broker.Server.Raft;
using Broker.Storage;
using Microsoft.Extensions.Logging;

namespace Broker.Server;

/// <summary>
/// Runs one broker: opens the logs (recovering them after a crash), replays the metadata log, registers
/// this node, serves the listeners, and on stop closes listeners first, lets in-flight requests finish,
/// then flushes and writes the clean-shutdown marker. Thread-safe.
/// </summary>
public static partial class BrokerHost
{
    /// <summary>Runs the broker until <paramref name="stoppingToken"/> is cancelled.</summary>
    public static async Task RunAsync(BrokerConfig config, ILoggerFactory loggerFactory, CancellationToken stoppingToken)
    {
        await using var broker = await StartAsync(config, loggerFactory, TimeProvider.System, stoppingToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Normal stop.
        }
    }

    /// <summary>Starts a broker and returns once it accepts connections. Dispose the handle to stop it cleanly.</summary>
    public static Task<RunningBroker> StartAsync(BrokerConfig config, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken) =>
        StartAsync(config, loggerFactory, time, sharedMetadata: null, cancellationToken);

    /// <summary>
    /// Starts a broker whose metadata comes from <paramref name="sharedMetadata"/>, a store several in-process brokers share
    /// (in-process multi-broker tests); null gives the broker its own Raft metadata store (a one-voter quorum of itself
    /// without controller.quorum.voters).
    /// </summary>
    public static async Task<RunningBroker> StartAsync(BrokerConfig config, ILoggerFactory loggerFactory, TimeProvider time, IMetadataStore? sharedMetadata,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var logger = loggerFactory.CreateLogger("Broker");

        // The side ports come first, so that log recovery (which can take long after a crash) can be watched.
        var status = new BrokerStatus(new LogRecoveryProgress());
        status.Set(BrokerState.Starting);
        var metrics = new BrokerMetrics(time);
        var observability = await ObservabilityEndpoints.StartAsync(
            config.HealthHost, config.HealthPort, config.MetricsHost, config.MetricsPort, status, metrics, loggerFactory.CreateLogger("Broker.Http")).ConfigureAwait(false);
        BrokerComponents? components = null;
        try
        {
            status.Set(BrokerState.Recovery);
            components = BrokerComponents.Create(config, loggerFactory, time, metrics, status.Recovery, sharedMetadata);
            status.Set(BrokerState.Starting);
            var server = new KafkaSocketServer(
                components.Dispatcher,
                new ConnectionOptions(config.SocketRequestMaxBytes, config.ConnectionsMaxIdleMs),
                time,
                loggerFactory.CreateLogger("Broker.Network"),
                metrics);
            metrics.Attach(components.Dispatcher, components.Services.Replicas, () => server.ConnectionCount);
            metrics.AttachGroups(components.Services.Groups);
            // The active controller is the metadata quorum's leader (read at each scrape: the quorum may open later).
            metrics.AttachController(() => config.HasControllerRole
                && (components.Quorum?.LeaderId ?? components.SoleVoter?.State.LeaderId) == config.NodeId, components.Metadata);
            var listeners = new List<ListenerEndpoint>();
            foreach (var listener in config.Listeners)
            {
                listeners.Add(new ListenerEndpoint(listener.Name, listener.Host, listener.Port,
                    config.ControllerListenerNames.Contains(listener.Name, StringComparer.OrdinalIgnoreCase)));
            }

            server.Start(listeners);
            var endpoints = AdvertisedEndpoints(config, server);
            var membership = CreateMembership(config, components, endpoints, time, logger);
            if (membership is not null && components.SoleVoter is not null)
            {
                // Kafka's broker serves only once its controller has unfenced it. A sole voter is its own controller and
                // commits synchronously, so the first step registers (fenced) and unfences it at once; then heartbeats.
                await membership.StepAsync(cancellationToken).ConfigureAwait(false);
                if (config.HasBrokerRole && membership.BrokerEpoch < 0)
                {
                    await membership.DisposeAsync().ConfigureAwait(false);
                    throw new InvalidOperationException($"Broker {config.NodeId} could not register with its own controller; see the log for the error.");
                }
            }

            if (membership is not null)
            {
                // KRaft: registration needs a quorum leader, which needs a majority of nodes up, so it happens in the background.
                membership.Start();
            }
            else
            {
                // Brokers sharing one in-process store (tests): registered unfenced at once, without sessions.
                OnRegistered(components, await components.Services.Topics.RegisterBrokerAsync(config.NodeId, endpoints, config.Rack, cancellationToken)
                    .ConfigureAwait(false));
            }

            var maintenance = new LogMaintenance(components.Logs, config.LogFlushSchedulerIntervalMs, config.LogFlushOffsetCheckpointIntervalMs, config.LogRetentionCheckIntervalMs, time, logger)
            {
                ProducerExpiration = (config.ProducerIdExpirationMs, config.ProducerIdExpirationCheckIntervalMs),
                HighWatermarkCheckpointIntervalMs = config.GetLong(ConfigNames.ReplicaHighWatermarkCheckpointIntervalMs),
            };
            var groups = components.Services.Groups;
            var replicas = components.Services.Replicas;
            PeriodicTicker[] tickers =
            [
                new("group-coordinator", TimeSpan.FromMilliseconds(100), () => groups.Tick(), time, logger),
                new("isr-expiration", TimeSpan.FromMilliseconds(Math.Max(1, config.ReplicaLagTimeMaxMs / 2)), () => replicas.CheckIsrShrink(), time, logger),
            ];
            status.Set(BrokerState.Running);
            LogStarted(logger, config.NodeId, components.Metadata.Image.ClusterId);
            return new RunningBroker(server, components, membership, maintenance, tickers, status, observability, logger);
        }
        catch
        {
            if (components is not null)
            {
                await components.Fetchers.DisposeAsync().ConfigureAwait(false);
                components.Dispose();
            }

            await observability.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// This node's side of the metadata quorum (<see cref="QuorumMembership"/>): for the network-bound quorum and for a
    /// sole voter alike, registration, heartbeats, controlled shutdown and the active controller's periodic tasks; a sole
    /// voter has no channel (it always leads, so everything goes through its own lifecycle). Null for a shared test store.
    /// Not started.
    /// </summary>
    internal static QuorumMembership? CreateMembership(BrokerConfig config, BrokerComponents components, IReadOnlyList<BrokerEndpoint> endpoints,
        TimeProvider time, ILogger logger)
    {
        var quorum = components.Quorum;
        var store = quorum?.Store ?? components.SoleVoter;
        if (store is null)
        {
            return null;
        }

        var services = components.Services;
        return new QuorumMembership(store, () => store.State, quorum is null ? null : new ControllerChannel(quorum, config.NodeId),
            services.BrokerLifecycle, new ActiveControllerTasks(services.BrokerLifecycle, services.Elections, store, time),
            config.GetInt(ConfigNames.BrokerHeartbeatIntervalMs), config.NodeId, endpoints, config.Rack,
            config.HasBrokerRole ? epoch => OnRegistered(components, epoch) : null, time, logger)
        {
            // A sole voter always knows its leader (itself): the give-up rule never applies to it, whatever the time.
            LeaderlessGiveUp = quorum is null ? TimeSpan.FromSeconds(3) : TimeSpan.FromMilliseconds(quorum.Config.FetchTimeoutMs + quorum.Config.ElectionTimeoutMs),
            MajorityContactMs = quorum is null ? null : () => quorum.Store.MajorityContactMs,
            IsSoleVoter = quorum is null,
        };
    }

    private static void OnRegistered(BrokerComponents components, long brokerEpoch)
    {
        components.Logs.BrokerEpoch = brokerEpoch;

        // Registered, so leaders accept this broker's fetches: partitions the image has this broker follow start now.
        components.Services.Replicas.AttachFetchers(components.Fetchers);
    }

    // advertised.listeners may name port 0 (tests bind ephemeral ports): advertise the bound port instead.
    private static List<BrokerEndpoint> AdvertisedEndpoints(BrokerConfig config, KafkaSocketServer server)
    {
        var bound = server.BoundEndpoints;
        var result = new List<BrokerEndpoint>();
        foreach (var advertised in config.AdvertisedListeners)
        {
            var port = advertised.Port;
            if (port == 0)
            {
                foreach (var (name, endPoint) in bound)
                {
                    if (name == advertised.Name)
                    {
                        port = endPoint.Port;
                    }
                }
            }

            result.Add(new BrokerEndpoint(advertised.Name, advertised.Host, port, SecurityProtocolId(config, advertised.Name)));
        }

        return result;
    }

    // Kafka's SecurityProtocol ids: PLAINTEXT 0, SSL 1, SASL_PLAINTEXT 2, SASL_SSL 3.
    private static short SecurityProtocolId(BrokerConfig config, string listenerName) => config.SecurityProtocolFor(listenerName) switch
    {
        "SSL" => 1,
        "SASL_PLAINTEXT" => 2,
        "SASL_SSL" => 3,
        _ => 0,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker {NodeId} started in cluster {ClusterId}")]
    private static partial void LogStarted(ILogger logger, int nodeId, string clusterId);
}
