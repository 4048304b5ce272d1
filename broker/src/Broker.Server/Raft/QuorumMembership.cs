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
/// if the log has none (Kafka's active controller does this first) and runs the active controller's periodic tasks
/// (<see cref="ActiveControllerTasks"/>: session fencing, leader rebalance, unclean elections); until this broker is
/// registered, it registers (locally when it leads, otherwise BrokerRegistration (62) then BrokerHeartbeat (63) to the
/// leader's controller listener until unfenced), retrying while no leader is known; once registered, it heartbeats every
/// <c>broker.heartbeat.interval.ms</c> to whichever node leads (itself included). On stop, <see
/// cref="ControlledShutdownAsync"/> asks for a controlled shutdown (heartbeats with WantShutDown) until the controller
/// answers ShouldShutDown, as Kafka's BrokerLifecycleManager does. Runs in the background because a quorum needs a
/// majority of nodes started before any registration can commit. A sole voter (no controller.quorum.voters) runs the
/// same duties with no channel: it always leads, so every registration and heartbeat goes through its own lifecycle.
/// </summary>
/// <remarks>Thread-safe: one background task owns the state (tests drive <see cref="StepAsync"/> themselves instead);
/// <see cref="ControlledShutdownAsync"/> hands the request to it, and also checks the give-up rule (under a lock shared
/// with the loop) because the loop can be blocked in a commit.</remarks>
internal sealed partial class QuorumMembership : IAsyncDisposable
{
    private readonly IMetadataStore _store;
    private readonly Func<(RaftRole Role, int Epoch, int LeaderId)> _quorumState;
    private readonly IControllerChannel? _channel;
    private readonly BrokerLifecycle _lifecycle;
    private readonly ActiveControllerTasks? _controllerTasks;
    // Kafka asks again only at the heartbeat interval (2 s by default) until the controller has moved the leaderships;
    // asking more often while shutting down ends a controlled shutdown within a fraction of a second of the moves.
    private const long ShutdownHeartbeatIntervalMs = 250;
    // When the controller does not grant the first WantShutDown, Kafka's BrokerLifecycleManager asks again 50 ms later:
    // the grant often waits only for this broker to report the metadata that moved its leaderships.
    private const long FirstShutdownRetryMs = 50;
    private static readonly TimeSpan GiveUpCheckInterval = TimeSpan.FromMilliseconds(100);
    private readonly Lock _giveUpLock = new();
    private readonly long _heartbeatIntervalMs;
    private readonly int _nodeId;
    private readonly IReadOnlyList<BrokerEndpoint> _endpoints;
    private readonly string? _rack;
    private readonly Action<long>? _registered;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Guid _incarnation = Guid.NewGuid();
    private readonly TaskCompletionSource _shutdownRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _shutdownDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;
    private long _brokerEpoch = -1;
    private long _lastHeartbeatMs = -1;
    private bool _shutdownAsked;
    private int _shutdownRefusals;
    private long _leaderlessSinceMs = -1;

    /// <param name="store">The metadata quorum's store (image and commits).</param>
    /// <param name="quorumState">This node's Raft role, epoch and the leader it knows.</param>
    /// <param name="channel">Requests to a remote active controller; null for a sole voter, which is always its own.</param>
    /// <param name="controllerTasks">The active controller's periodic tasks; null runs none (tests of the broker side).</param>
    /// <param name="registered">Called once with the broker epoch; null for a controller-only node (nothing to register).</param>
    public QuorumMembership(IMetadataStore store, Func<(RaftRole Role, int Epoch, int LeaderId)> quorumState, IControllerChannel? channel,
        BrokerLifecycle lifecycle, ActiveControllerTasks? controllerTasks, long heartbeatIntervalMs, int nodeId,
        IReadOnlyList<BrokerEndpoint> endpoints, string? rack, Action<long>? registered, TimeProvider time, ILogger logger)
    {
        _store = store;
        _quorumState = quorumState;
        _channel = channel;
        _lifecycle = lifecycle;
        _controllerTasks = controllerTasks;
        _heartbeatIntervalMs = heartbeatIntervalMs;
        _nodeId = nodeId;
        _endpoints = endpoints;
        _rack = rack;
        _registered = registered;
        _time = time;
        _logger = logger;
    }

    /// <summary>The broker epoch once registered, else -1.</summary>
    public long BrokerEpoch => Volatile.Read(ref _brokerEpoch);

    /// <summary>Completes with true when the controller granted the controlled shutdown (ShouldShutDown), with false
    /// when no controller was known for <see cref="LeaderlessGiveUp"/> while asking or when the controller no longer
    /// knows this broker epoch (STALE_BROKER_EPOCH: unregistered or replaced).</summary>
    public Task<bool> ShutdownDone => _shutdownDone.Task;

    /// <summary>
    /// How long a controlled shutdown goes on while no quorum leader is known before giving up: nothing could move the
    /// leaderships then (the last voters of a cluster stopping together). The host sets the quorum's fetch timeout plus
    /// election timeout, the time a follower needs to notice a lost leader and elect another.
    /// </summary>
    public TimeSpan LeaderlessGiveUp { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// While this node leads the quorum: when a majority of voters was last in contact (unix ms), else -1. A leader cut
    /// off from its majority can commit nothing, so for <see cref="LeaderlessGiveUp"/> it counts as no leader from that
    /// moment, not from its resignation a check-quorum period later. Null: never leaderless while leading.
    /// </summary>
    public Func<long>? MajorityContactMs { get; init; }

    /// <summary>
    /// This node is the whole quorum (no controller.quorum.voters): it registers before its controller's periodic tasks
    /// first run. Those give every unfenced registration a fresh session, since its broker may have heartbeated to an
    /// earlier controller; but a sole voter's only earlier controller is this node's own earlier process, so an unfenced
    /// registration left by it (a crash, or a log written before sole voters registered) belongs to a process that is
    /// gone. Registering first replaces it at once, where Kafka's single combined node waits out
    /// <c>broker.session.timeout.ms</c> (DUPLICATE_BROKER_REGISTRATION until then).
    /// </summary>
    public bool IsSoleVoter { get; init; }

    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>
    /// Kafka's controlled shutdown (KRaft): heartbeats with WantShutDown until the active controller has moved every
    /// leadership off this broker and answers ShouldShutDown, or until <paramref name="bound"/> passes (Kafka bounds it
    /// only by the process's own shutdown timeout). Returns true when granted; at once when there is nothing to shut down
    /// (a controller-only node, or a broker never registered). Call before the listeners close: the followers must still
    /// fetch from this broker to catch up into the ISR of the leaders that replace it.
    /// </summary>
    public async Task<bool> ControlledShutdownAsync(TimeSpan bound)
    {
        if (!BeginControlledShutdown())
        {
            return true;
        }

        try
        {
            // Checked here too, not only between the loop's steps: a quorum leader's own heartbeat blocks its loop while
            // the commit waits for a majority that is gone.
            var granted = _shutdownDone.Task.WaitAsync(bound, _time);
            while (!granted.IsCompleted)
            {
                await Task.WhenAny(granted, Task.Delay(GiveUpCheckInterval, _time)).ConfigureAwait(false);
                CheckGiveUp();
            }

            return await granted.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogShutdownTimedOut(_logger, _nodeId, (long)bound.TotalMilliseconds);
            return false;
        }
    }

    /// <summary>Sets the WantShutDown flag for the next heartbeats; false when there is nothing to ask for.</summary>
    internal bool BeginControlledShutdown()
    {
        if (_registered is null || BrokerEpoch < 0)
        {
            return false;
        }

        if (_shutdownRequested.TrySetResult())
        {
            LogShutdownRequested(_logger, _nodeId);
        }

        return true;
    }

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
                var pause = _shutdownRequested.Task.IsCompleted ? FirstShutdownRetryMs
                    : _brokerEpoch >= 0 ? Math.Min(500, Math.Max(50, _heartbeatIntervalMs / 2)) : 100;
                var delay = Task.Delay(TimeSpan.FromMilliseconds(pause), _time, token);
                if (_shutdownRequested.Task.IsCompleted)
                {
                    await delay.ConfigureAwait(false);
                }
                else
                {
                    // A shutdown request wakes the loop at once.
                    await Task.WhenAny(delay, _shutdownRequested.Task).ConfigureAwait(false);
                    token.ThrowIfCancellationRequested();
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round of the loop (tests call it directly).</summary>
    internal async Task StepAsync(CancellationToken token)
    {
        var (role, _, leader) = _quorumState();
        if (role == RaftRole.Leader && MetadataFeatures.BootstrapRecords(_store.Image) is { Count: > 0 } bootstrap)
        {
            await _store.CommitAsync(bootstrap, token).ConfigureAwait(false);
        }

        var registerFirst = IsSoleVoter && _registered is not null && _brokerEpoch < 0;
        if (_controllerTasks is not null && !registerFirst)
        {
            if (role == RaftRole.Leader)
            {
                var done = await _controllerTasks.RunDueAsync(token).ConfigureAwait(false);
                foreach (var id in done.Fenced)
                {
                    LogFenced(_logger, id);
                }

                if (done.Rebalanced > 0 || done.UncleanElected > 0)
                {
                    LogElections(_logger, done.Rebalanced, done.UncleanElected);
                }
            }
            else if (_controllerTasks.IsActive)
            {
                // Kafka's controller stops its periodic tasks when it renounces; the next leader runs its own.
                _controllerTasks.Deactivate();
            }
        }

        CheckGiveUp();

        if (_registered is null || leader < 0)
        {
            return;
        }

        if (_brokerEpoch >= 0)
        {
            await HeartbeatAsync(leader, token).ConfigureAwait(false);
            return;
        }

        if (MetadataFeatures.BootstrapRecords(_store.Image).Count > 0)
        {
            // The leader has not written metadata.version yet; registering before would be refused.
            return;
        }

        var epoch = await RegisterAsync(leader, token).ConfigureAwait(false);
        if (epoch >= 0)
        {
            Volatile.Write(ref _brokerEpoch, epoch);
            LogRegistered(_logger, _nodeId, epoch, leader);
            _registered(epoch);
        }
    }

    // Kafka's BrokerLifecycleManager after registration: a heartbeat every interval keeps the session alive at the
    // active controller, which unfences a fenced broker (one that was paused past its session) once it is caught up.
    // During a controlled shutdown the heartbeats carry WantShutDown until one answers ShouldShutDown.
    private async Task HeartbeatAsync(int leader, CancellationToken token)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var wantShutDown = _shutdownRequested.Task.IsCompleted;
        var firstShutdownRequest = wantShutDown && !_shutdownAsked;
        var intervalMs = !wantShutDown ? _heartbeatIntervalMs
            : _shutdownRefusals == 1 ? FirstShutdownRetryMs
            : Math.Min(_heartbeatIntervalMs, ShutdownHeartbeatIntervalMs);
        if (_shutdownDone.Task.IsCompleted || (!firstShutdownRequest && _lastHeartbeatMs >= 0 && now - _lastHeartbeatMs < intervalMs))
        {
            return;
        }

        // The first WantShutDown heartbeat goes at once, not at the next interval.
        _lastHeartbeatMs = now;
        _shutdownAsked |= wantShutDown;
        var result = await SendHeartbeatAsync(leader, _brokerEpoch, wantShutDown, token).ConfigureAwait(false);
        if (result.Error == ErrorCode.StaleBrokerEpoch && wantShutDown)
        {
            // This incarnation is no longer registered (UnregisterBroker, or a newer incarnation took its place): the
            // controller already moved whatever it led, so there is nothing left to ask for. Kafka's broker keeps asking
            // until its own shutdown timeout.
            LogShutdownUnregistered(_logger, _nodeId, _brokerEpoch);
            _shutdownDone.TrySetResult(false);
        }
        else if (result.Error != ErrorCode.None)
        {
            LogRefused(_logger, "BrokerHeartbeat", (short)result.Error);
        }
        else if (wantShutDown && result.ShouldShutDown)
        {
            LogShutdownGranted(_logger, _nodeId, leader);
            _shutdownDone.TrySetResult(true);
        }
        else if (wantShutDown)
        {
            _shutdownRefusals++;
        }
    }

    private void CheckGiveUp()
    {
        if (_shutdownRequested.Task.IsCompleted && !_shutdownDone.Task.IsCompleted)
        {
            var (role, _, leader) = _quorumState();
            lock (_giveUpLock)
            {
                // A resigned leader still names itself until the next election, but leads nothing.
                GiveUpWhenLeaderless(role == RaftRole.Leader ? MajorityContactMs?.Invoke() ?? -1 : -1, role == RaftRole.Resigned ? -1 : leader);
            }
        }
    }

    private void GiveUpWhenLeaderless(long majorityContactMs, int leader)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (majorityContactMs >= 0 && now - majorityContactMs > _heartbeatIntervalMs)
        {
            // Leading without a majority: no controlled shutdown can be committed.
            _leaderlessSinceMs = _leaderlessSinceMs < 0 ? majorityContactMs : Math.Min(_leaderlessSinceMs, majorityContactMs);
            if (now - _leaderlessSinceMs >= (long)LeaderlessGiveUp.TotalMilliseconds)
            {
                LogShutdownLeaderless(_logger, _nodeId, now - _leaderlessSinceMs);
                _shutdownDone.TrySetResult(false);
            }
        }
        else if (leader >= 0)
        {
            _leaderlessSinceMs = -1;
        }
        else if (_leaderlessSinceMs < 0)
        {
            _leaderlessSinceMs = now;
        }
        else if (now - _leaderlessSinceMs >= (long)LeaderlessGiveUp.TotalMilliseconds)
        {
            LogShutdownLeaderless(_logger, _nodeId, now - _leaderlessSinceMs);
            _shutdownDone.TrySetResult(false);
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
            var heartbeat = await SendHeartbeatAsync(leader, brokerEpoch, wantShutDown: false, token).ConfigureAwait(false);
            if (heartbeat.Error != ErrorCode.None)
            {
                LogRefused(_logger, "BrokerHeartbeat", (short)heartbeat.Error);
                return -1;
            }

            if (!heartbeat.IsFenced)
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
            new BrokerRegistrationRequestInfo(_nodeId, _store.Image.ClusterId, _incarnation, _endpoints, MetadataFeatures.Supported, _rack),
            token).ConfigureAwait(false);
        return (result.Error, result.BrokerEpoch);
    }

    private async Task<(ErrorCode Error, long BrokerEpoch)> RegisterRemotelyAsync(int leader, CancellationToken token)
    {
        var request = new BrokerRegistrationRequest
        {
            BrokerId = _nodeId,
            ClusterId = _store.Image.ClusterId,
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

        return await Channel.RegisterAsync(leader, request, token).ConfigureAwait(false);
    }

    /// <summary>One heartbeat at the active controller: through the lifecycle when this node is it, else over the wire.</summary>
    private async Task<BrokerHeartbeatResult> SendHeartbeatAsync(int leader, long brokerEpoch, bool wantShutDown, CancellationToken token)
    {
        var offset = _store.Image.Offset;
        if (leader == _nodeId)
        {
            return await _lifecycle.HeartbeatAsync(
                new BrokerHeartbeatInfo(_nodeId, brokerEpoch, offset, WantFence: false, WantShutDown: wantShutDown), token).ConfigureAwait(false);
        }

        var heartbeat = new BrokerHeartbeatRequest
        {
            BrokerId = _nodeId,
            BrokerEpoch = brokerEpoch,
            CurrentMetadataOffset = offset,
            WantShutDown = wantShutDown,
        };
        return await Channel.HeartbeatAsync(leader, heartbeat, token).ConfigureAwait(false);
    }

    private IControllerChannel Channel =>
        _channel ?? throw new InvalidOperationException($"Node {_nodeId} has no channel to a remote controller (a sole voter leads its own quorum).");

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        if (_channel is not null)
        {
            await _channel.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fenced broker {BrokerId}: no heartbeat within broker.session.timeout.ms; its leaderships moved")]
    private static partial void LogFenced(ILogger logger, int brokerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Leader rebalance moved {Rebalanced} leaderships; unclean elections gave {Unclean} offline partitions a leader")]
    private static partial void LogElections(ILogger logger, int rebalanced, int unclean);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker {NodeId} requests a controlled shutdown")]
    private static partial void LogShutdownRequested(ILogger logger, int nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker {NodeId}: controller {LeaderId} granted the controlled shutdown")]
    private static partial void LogShutdownGranted(ILogger logger, int nodeId, int leaderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker {NodeId}: no quorum leader with a majority for {Ms} ms; shutting down without a controlled shutdown")]
    private static partial void LogShutdownLeaderless(ILogger logger, int nodeId, long ms);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker {NodeId}: broker epoch {BrokerEpoch} is no longer registered at the controller; shutting down without a controlled shutdown")]
    private static partial void LogShutdownUnregistered(ILogger logger, int nodeId, long brokerEpoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker {NodeId}: controlled shutdown not granted within {BoundMs} ms; shutting down anyway")]
    private static partial void LogShutdownTimedOut(ILogger logger, int nodeId, long boundMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Quorum membership step failed, retrying: {Reason}")]
    private static partial void LogRetry(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker {NodeId} registered with broker epoch {BrokerEpoch} at controller {LeaderId}")]
    private static partial void LogRegistered(ILogger logger, int nodeId, long brokerEpoch, int leaderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Api} refused with error {ErrorCode}; retrying")]
    private static partial void LogRefused(ILogger logger, string api, short errorCode);
}
