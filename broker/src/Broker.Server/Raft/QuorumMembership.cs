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
/// listener until unfenced), retrying while no leader is known. Runs in the background because a quorum needs a
/// majority of nodes started before any registration can commit.
/// </summary>
/// <remarks>Thread-safe: one background task owns the state.</remarks>
internal sealed partial class QuorumMembership : IAsyncDisposable
{
    private readonly RaftNetworkDriver _quorum;
    private readonly TopicController _topics;
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

    /// <param name="registered">Called once with the broker epoch; null for a controller-only node (nothing to register).</param>
    public QuorumMembership(RaftNetworkDriver quorum, TopicController topics, int nodeId, IReadOnlyList<BrokerEndpoint> endpoints, string? rack,
        Action<long>? registered, TimeProvider time, ILogger logger)
    {
        _quorum = quorum;
        _topics = topics;
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

        if (_registered is null || _brokerEpoch >= 0 || leader < 0)
        {
            return;
        }

        if (MetadataFeatures.BootstrapRecords(store.Image).Count > 0)
        {
            // The leader has not written metadata.version yet; registering before would be refused.
            return;
        }

        var epoch = leader == _nodeId
            ? await _topics.RegisterBrokerAsync(_nodeId, _endpoints, _rack, token).ConfigureAwait(false)
            : await RegisterAtAsync(leader, token).ConfigureAwait(false);
        if (epoch >= 0)
        {
            _brokerEpoch = epoch;
            LogRegistered(_logger, _nodeId, epoch, leader);
            _registered(epoch);
        }
    }

    // Kafka's BrokerLifecycleManager: register (fenced), then heartbeat until the controller unfences this broker.
    private async Task<long> RegisterAtAsync(int leader, CancellationToken token)
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

        var connection = _controller!;
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

        long brokerEpoch;
        using (var registration = await connection.SendAsync<BrokerRegistrationResponse>(request, 3, token).ConfigureAwait(false))
        {
            if (registration.Message.ErrorCode != (short)ErrorCode.None)
            {
                LogRefused(_logger, "BrokerRegistration", registration.Message.ErrorCode);
                return -1;
            }

            brokerEpoch = registration.Message.BrokerEpoch;
        }

        for (var attempt = 0; attempt < 50 && !token.IsCancellationRequested; attempt++)
        {
            var heartbeat = new BrokerHeartbeatRequest
            {
                BrokerId = _nodeId,
                BrokerEpoch = brokerEpoch,
                CurrentMetadataOffset = _quorum.Store.Image.Offset,
            };
            using var response = await connection.SendAsync<BrokerHeartbeatResponse>(heartbeat, 1, token).ConfigureAwait(false);
            if (response.Message.ErrorCode != (short)ErrorCode.None)
            {
                LogRefused(_logger, "BrokerHeartbeat", response.Message.ErrorCode);
                return -1;
            }

            if (!response.Message.IsFenced)
            {
                return brokerEpoch;
            }

            // Not caught up with its own registration yet: the image follows the leader's high watermark shortly.
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, token).ConfigureAwait(false);
        }

        return -1;
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Quorum membership step failed, retrying: {Reason}")]
    private static partial void LogRetry(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker {NodeId} registered with broker epoch {BrokerEpoch} at controller {LeaderId}")]
    private static partial void LogRegistered(ILogger logger, int nodeId, long brokerEpoch, int leaderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Api} refused with error {ErrorCode}; retrying")]
    private static partial void LogRefused(ILogger logger, string api, short errorCode);
}
