using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Network;
using Broker.Cluster.Raft;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Broker.Server.Raft;

/// <summary>
/// A KRaft node's background duties towards the quorum: while this node leads, it writes the bootstrap feature levels
/// if the log has none (Kafka's active controller does this first); until this broker is registered, it registers
/// (locally when it leads, otherwise BrokerRegistration (62) then BrokerHeartbeat (63) to the leader's controller
/// listener until unfenced), retrying while no leader is known; once registered, it heartbeats every
/// <c>broker.heartbeat.interval.ms</c> to whichever node leads (itself included), and while it leads, it fences brokers
/// whose sessions expired (<c>broker.session.timeout.ms</c>), which moves their leaderships to live ISR members. Runs in
/// the background because a quorum needs a majority of nodes started before any registration can commit.
/// </summary>
/// <remarks>Thread-safe: one background task owns the state.</remarks>
internal sealed partial class QuorumMembership : IAsyncDisposable
{
    private readonly RaftNetworkDriver _quorum;
    private readonly BrokerLifecycle _lifecycle;
    private readonly long _heartbeatIntervalMs;
    private readonly int _nodeId;
    private readonly IReadOnlyList<BrokerEndpoint> _endpoints;
    private readonly string? _rack;
    private readonly Action<long>? _registered;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Guid _incarnation = Guid.NewGuid();
    private Task _run = Task.CompletedTask;
    private long _brokerEpoch = -1;
    private KafkaClientConnection? _controller;
    private int _controllerId = -1;
    private long _lastHeartbeatMs = -1;

    /// <param name="registered">Called once with the broker epoch; null for a controller-only node (nothing to register).</param>
    public QuorumMembership(RaftNetworkDriver quorum, BrokerLifecycle lifecycle, long heartbeatIntervalMs, int nodeId,
        IReadOnlyList<BrokerEndpoint> endpoints, string? rack, Action<long>? registered, TimeProvider time, ILogger logger)
    {
        _quorum = quorum;
        _lifecycle = lifecycle;
        _heartbeatIntervalMs = heartbeatIntervalMs;
        _nodeId = nodeId;
        _endpoints = endpoints;
        _rack = rack;
        _registered = registered;
        _time = time;
        _logger = logger;
    }

    public void Start() => _run = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await StepAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NotLeaderException or KafkaConnectionException)
            {
                // Leadership moved or the leader is unreachable: try again with whoever leads next.
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    LogRetry(_logger, e.Message);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(_brokerEpoch >= 0 ? 500 : 100), _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task StepAsync(CancellationToken token)
    {
        var store = _quorum.Store;
        var (role, _, leader) = store.State;
        if (role == RaftRole.Leader && MetadataFeatures.BootstrapRecords(store.Image) is { Count: > 0 } bootstrap)
        {
            await store.CommitAsync(bootstrap, token).ConfigureAwait(false);
        }

        if (role == RaftRole.Leader)
        {
            // Kafka's active controller fences brokers whose heartbeats stopped (a crash, a pause, a cut-off network).
            var fenced = await _lifecycle.FenceExpiredSessionsAsync(token).ConfigureAwait(false);
            foreach (var id in fenced)
            {
                LogFenced(_logger, id);
            }
        }

        if (_registered is null || leader < 0)
        {
            return;
        }

        if (_brokerEpoch >= 0)
        {
            await HeartbeatAsync(leader, token).ConfigureAwait(false);
            return;
        }

        if (MetadataFeatures.BootstrapRecords(store.Image).Count > 0)
        {
            // The leader has not written metadata.version yet; registering before would be refused.
            return;
        }

        var epoch = await RegisterAsync(leader, token).ConfigureAwait(false);
        if (epoch >= 0)
        {
            _brokerEpoch = epoch;
            LogRegistered(_logger, _nodeId, epoch, leader);
            _registered(epoch);
        }
    }

    // Kafka's BrokerLifecycleManager after registration: a heartbeat every interval keeps the session alive at the
    // active controller, which unfences a fenced broker (one that was paused past its session) once it is caught up.
    private async Task HeartbeatAsync(int leader, CancellationToken token)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_lastHeartbeatMs >= 0 && now - _lastHeartbeatMs < _heartbeatIntervalMs)
        {
            return;
        }

        _lastHeartbeatMs = now;
        var (error, _) = await SendHeartbeatAsync(leader, _brokerEpoch, token).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            LogRefused(_logger, "BrokerHeartbeat", (short)error);
        }
    }

    // Kafka's BrokerLifecycleManager: register (fenced), then heartbeat until the controller unfences this broker. The
    // active controller registers its own broker through the same lifecycle as everyone else's, so its session, epoch
    // and fencing follow the same rules.
    private async Task<long> RegisterAsync(int leader, CancellationToken token)
    {
        var (registrationError, brokerEpoch) = leader == _nodeId
            ? await RegisterLocallyAsync(token).ConfigureAwait(false)
            : await RegisterRemotelyAsync(leader, token).ConfigureAwait(false);
        if (registrationError != ErrorCode.None)
        {
            LogRefused(_logger, "BrokerRegistration", (short)registrationError);
            return -1;
        }

        for (var attempt = 0; attempt < 50 && !token.IsCancellationRequested; attempt++)
        {
            var (error, fenced) = await SendHeartbeatAsync(leader, brokerEpoch, token).ConfigureAwait(false);
            if (error != ErrorCode.None)
            {
                LogRefused(_logger, "BrokerHeartbeat", (short)error);
                return -1;
            }

            if (!fenced)
            {
                return brokerEpoch;
            }

            // Not caught up with its own registration yet: the image follows the leader's high watermark shortly.
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, token).ConfigureAwait(false);
        }

        return -1;
    }

    private async Task<(ErrorCode Error, long BrokerEpoch)> RegisterLocallyAsync(CancellationToken token)
    {
        var result = await _lifecycle.RegisterAsync(
            new BrokerRegistrationRequestInfo(_nodeId, _quorum.Store.Image.ClusterId, _incarnation, _endpoints, MetadataFeatures.Supported, _rack),
            token).ConfigureAwait(false);
        return (result.Error, result.BrokerEpoch);
    }

    private async Task<(ErrorCode Error, long BrokerEpoch)> RegisterRemotelyAsync(int leader, CancellationToken token)
    {
        var request = new BrokerRegistrationRequest
        {
            BrokerId = _nodeId,
            ClusterId = _quorum.Store.Image.ClusterId,
            IncarnationId = _incarnation,
            Rack = _rack,
        };
        foreach (var endpoint in _endpoints)
        {
            request.Listeners.Add(new BrokerRegistrationRequest.Listener
            {
                Name = endpoint.ListenerName,
                Host = endpoint.Host,
                Port = (ushort)endpoint.Port,
                SecurityProtocol = endpoint.SecurityProtocol,
            });
        }

        foreach (var (name, min, max) in MetadataFeatures.Supported)
        {
            request.Features.Add(new BrokerRegistrationRequest.Feature { Name = name, MinSupportedVersion = min, MaxSupportedVersion = max });
        }

        var connection = await ConnectionToAsync(leader).ConfigureAwait(false);
        using var response = await connection.SendAsync<BrokerRegistrationResponse>(request, 3, token).ConfigureAwait(false);
        return ((ErrorCode)response.Message.ErrorCode, response.Message.BrokerEpoch);
    }

    /// <summary>One heartbeat at the active controller: through the lifecycle when this node is it, else over the wire.</summary>
    private async Task<(ErrorCode Error, bool Fenced)> SendHeartbeatAsync(int leader, long brokerEpoch, CancellationToken token)
    {
        var offset = _quorum.Store.Image.Offset;
        if (leader == _nodeId)
        {
            var result = await _lifecycle.HeartbeatAsync(
                new BrokerHeartbeatInfo(_nodeId, brokerEpoch, offset, WantFence: false, WantShutDown: false), token).ConfigureAwait(false);
            return (result.Error, result.IsFenced);
        }

        var heartbeat = new BrokerHeartbeatRequest { BrokerId = _nodeId, BrokerEpoch = brokerEpoch, CurrentMetadataOffset = offset };
        using var response = await (await ConnectionToAsync(leader).ConfigureAwait(false))
            .SendAsync<BrokerHeartbeatResponse>(heartbeat, 1, token).ConfigureAwait(false);
        return ((ErrorCode)response.Message.ErrorCode, response.Message.IsFenced);
    }

    private async ValueTask<KafkaClientConnection> ConnectionToAsync(int leader)
    {
        if (_controllerId != leader)
        {
            if (_controller is not null)
            {
                await _controller.DisposeAsync().ConfigureAwait(false);
            }

            _controller = _quorum.CreateConnection(leader, $"broker-{_nodeId}-to-controller");
            _controllerId = leader;
        }

        return _controller!;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        if (_controller is not null)
        {
            await _controller.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fenced broker {BrokerId}: no heartbeat within broker.session.timeout.ms; its leaderships moved")]
    private static partial void LogFenced(ILogger logger, int brokerId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Quorum membership step failed, retrying: {Reason}")]
    private static partial void LogRetry(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker {NodeId} registered with broker epoch {BrokerEpoch} at controller {LeaderId}")]
    private static partial void LogRegistered(ILogger logger, int nodeId, long brokerEpoch, int leaderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Api} refused with error {ErrorCode}; retrying")]
    private static partial void LogRefused(ILogger logger, string api, short errorCode);
}
