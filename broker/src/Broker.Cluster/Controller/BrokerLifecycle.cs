using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>A BrokerRegistration request after decoding. Immutable.</summary>
public sealed record BrokerRegistrationRequestInfo(
    int BrokerId,
    string ClusterId,
    Guid IncarnationId,
    IReadOnlyList<BrokerEndpoint> Endpoints,
    IReadOnlyList<(string Name, short MinVersion, short MaxVersion)> Features,
    string? Rack);

/// <summary>The controller's answer to a registration: an error, or the broker epoch. Immutable.</summary>
public sealed record BrokerRegistrationResult(ErrorCode Error, long BrokerEpoch, string? Message = null);

/// <summary>A BrokerHeartbeat request after decoding. Immutable.</summary>
public sealed record BrokerHeartbeatInfo(int BrokerId, long BrokerEpoch, long CurrentMetadataOffset, bool WantFence, bool WantShutDown);

/// <summary>The controller's answer to a heartbeat (BrokerHeartbeatResponse fields). Immutable.</summary>
public sealed record BrokerHeartbeatResult(ErrorCode Error, bool IsCaughtUp, bool IsFenced, bool ShouldShutDown);

/// <summary>Settings of the controller's broker lifecycle (Kafka's names and defaults).</summary>
public sealed record BrokerLifecycleOptions(TimeProvider Time, long SessionTimeoutMs = 9000, bool UncleanLeaderElectionDefault = false)
{
    /// <summary>
    /// The quorum's kraft.version (the Raft log's KRAFT_VERSION record, not a FeatureLevelRecord): a registration must
    /// support it like every finalized feature, as Kafka's controller adds its Raft client's level to the finalized
    /// features it checks. Null: 0 (a store without a Raft log).
    /// </summary>
    public Func<short>? KRaftVersion { get; init; }
}

/// <summary>
/// Broker registration, heartbeats, fencing, controlled shutdown and unregistration at the controller, as Kafka's
/// ClusterControlManager and BrokerHeartbeatManager: a registration writes a fenced RegisterBrokerRecord with a new
/// broker epoch (the same incarnation re-registering keeps its epoch); a heartbeat caught up to the registration
/// unfences; a missed session (<c>broker.session.timeout.ms</c>) or <c>WantFence</c> fences; <c>WantShutDown</c>
/// moves leaderships away and grants the shutdown once the broker leads nothing and every unfenced broker has seen that
/// change (at once when it led nothing). Fencing,
/// shutdown and unregistration elect new leaders (<see cref="PartitionElections"/>); unfencing elects leaders for
/// offline partitions. Changes are written as metadata.version 4.0 does: BrokerRegistrationChangeRecord.
/// Thread-safe: every operation runs under the controller's mutex, which also guards the session table.
/// </summary>
public sealed class BrokerLifecycle
{
    private readonly TopicController _controller;
    private readonly BrokerLifecycleOptions _options;

    // Last contact and controlled-shutdown progress per broker: in memory only, as in Kafka (a new controller
    // starts every session afresh).
    private readonly Dictionary<int, Session> _sessions = [];

    public BrokerLifecycle(TopicController controller, BrokerLifecycleOptions options)
    {
        _controller = controller;
        _options = options;
    }

    private long NowMs => _options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task<BrokerRegistrationResult> RegisterAsync(BrokerRegistrationRequestInfo request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _controller.RunExclusiveAsync(async image =>
        {
            if (!string.Equals(request.ClusterId, image.ClusterId, StringComparison.Ordinal))
            {
                return new BrokerRegistrationResult(ErrorCode.InconsistentClusterId, -1,
                    $"Expected cluster ID {image.ClusterId}, but got cluster ID {request.ClusterId}");
            }

            if (UnsupportedFeature(image, request) is { } featureError)
            {
                return new BrokerRegistrationResult(ErrorCode.UnsupportedVersion, -1, featureError);
            }

            image.Brokers.TryGetValue(request.BrokerId, out var existing);
            if (existing is not null && existing.IncarnationId == request.IncarnationId && existing.Epoch >= 0)
            {
                // A retry by the same process: nothing to write, the epoch stands.
                Touch(request.BrokerId, existing.Epoch);
                return new BrokerRegistrationResult(ErrorCode.None, existing.Epoch);
            }

            if (existing is not null && HasLiveSession(existing))
            {
                return new BrokerRegistrationResult(ErrorCode.DuplicateBrokerRegistration, -1,
                    "Another broker is registered with that broker id.");
            }

            var records = new List<IApiMessage>();
            if (existing is not null && !existing.Fenced)
            {
                // The old incarnation is gone without a shutdown: its leaderships and ISR places go first.
                PartitionElections.RemoveBroker(image, request.BrokerId, _options.UncleanLeaderElectionDefault, records);
            }

            // Kafka's broker epoch is the offset of the registration record: unique and growing across registrations.
            var epoch = Math.Max(image.Offset + 1 + records.Count, (existing?.Epoch ?? -1) + 1);
            var record = new RegisterBrokerRecord
            {
                BrokerId = request.BrokerId,
                IncarnationId = request.IncarnationId,
                BrokerEpoch = epoch,
                Rack = request.Rack,
                Fenced = true,
                InControlledShutdown = false,
            };
            foreach (var endpoint in request.Endpoints)
            {
                record.EndPoints.Add(new RegisterBrokerRecord.BrokerEndpoint
                {
                    Name = endpoint.ListenerName,
                    Host = endpoint.Host,
                    Port = (ushort)endpoint.Port,
                    SecurityProtocol = endpoint.SecurityProtocol,
                });
            }

            foreach (var (name, min, max) in request.Features)
            {
                record.Features.Add(new RegisterBrokerRecord.BrokerFeature { Name = name, MinSupportedVersion = min, MaxSupportedVersion = max });
            }

            records.Add(record);
            await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            _sessions[request.BrokerId] = new Session(NowMs, epoch);
            return new BrokerRegistrationResult(ErrorCode.None, epoch);
        }, cancellationToken);
    }

    public Task<BrokerHeartbeatResult> HeartbeatAsync(BrokerHeartbeatInfo request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _controller.RunExclusiveAsync(async image =>
        {
            if (!image.Brokers.TryGetValue(request.BrokerId, out var broker) || broker.Epoch != request.BrokerEpoch)
            {
                return new BrokerHeartbeatResult(ErrorCode.StaleBrokerEpoch, false, true, false);
            }

            var session = Touch(request.BrokerId, broker.Epoch);
            session.MetadataOffset = request.CurrentMetadataOffset;
            var caughtUp = request.CurrentMetadataOffset >= broker.Epoch;
            if (broker.Fenced)
            {
                if (request.WantShutDown || broker.InControlledShutdown || session.ShutDownGranted)
                {
                    // A fenced broker leads nothing and holds no ISR place that matters: it may go at once. One that
                    // was shut down stays so (Kafka's SHUTDOWN_NOW) until its next process registers.
                    return new BrokerHeartbeatResult(ErrorCode.None, caughtUp, true, true);
                }

                if (request.WantFence || !caughtUp)
                {
                    return new BrokerHeartbeatResult(ErrorCode.None, caughtUp, true, false);
                }

                var unfence = new List<IApiMessage>
                {
                    new BrokerRegistrationChangeRecord { BrokerId = broker.NodeId, BrokerEpoch = broker.Epoch, Fenced = -1 },
                };
                PartitionElections.ElectOffline(image, broker.NodeId, _options.UncleanLeaderElectionDefault, unfence);
                await _controller.Store.CommitAsync(unfence, cancellationToken).ConfigureAwait(false);
                return new BrokerHeartbeatResult(ErrorCode.None, true, false, false);
            }

            if (request.WantFence)
            {
                await FenceAsync(image, broker, cancellationToken).ConfigureAwait(false);
                return new BrokerHeartbeatResult(ErrorCode.None, caughtUp, true, false);
            }

            if (!request.WantShutDown && !broker.InControlledShutdown)
            {
                return new BrokerHeartbeatResult(ErrorCode.None, caughtUp, false, false);
            }

            if (!broker.InControlledShutdown)
            {
                if (LeadsNothing(image, broker.NodeId))
                {
                    // Kafka's UNFENCED -> SHUTDOWN_NOW: with nothing to move, the broker may go at once.
                    await FenceAsync(image, broker, cancellationToken).ConfigureAwait(false);
                    session.ShutDownGranted = true;
                    return new BrokerHeartbeatResult(ErrorCode.None, caughtUp, true, true);
                }

                var records = new List<IApiMessage>();
                PartitionElections.RemoveBroker(image, broker.NodeId, _options.UncleanLeaderElectionDefault, records);
                records.Add(new BrokerRegistrationChangeRecord { BrokerId = broker.NodeId, BrokerEpoch = broker.Epoch, InControlledShutdown = 1 });
                image = await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
                session.ControlledShutdownOffset = image.Offset;
            }
            else if (session.ControlledShutdownOffset == long.MaxValue)
            {
                // Entered under an earlier controller: what this one knows is at most its image.
                session.ControlledShutdownOffset = image.Offset;
            }

            // Kafka's CONTROLLED_SHUTDOWN -> SHUTDOWN_NOW: nothing led any more, and every unfenced broker has applied
            // the metadata that moved the leaderships (the lowest active offset), so clients find the new leaders.
            if (LeadsNothing(image, broker.NodeId) && session.ControlledShutdownOffset <= LowestActiveOffset(image))
            {
                await FenceAsync(image, image.Brokers[broker.NodeId], cancellationToken).ConfigureAwait(false);
                session.ShutDownGranted = true;
                return new BrokerHeartbeatResult(ErrorCode.None, caughtUp, true, true);
            }

            return new BrokerHeartbeatResult(ErrorCode.None, caughtUp, false, false);
        }, cancellationToken);
    }

    /// <summary>UnregisterBroker (64): the registration goes, after its leaderships and ISR places.</summary>
    public Task<ErrorCode> UnregisterAsync(int brokerId, CancellationToken cancellationToken) =>
        _controller.RunExclusiveAsync(async image =>
        {
            if (!image.Brokers.TryGetValue(brokerId, out var broker))
            {
                return ErrorCode.BrokerIdNotRegistered;
            }

            var records = new List<IApiMessage>();
            PartitionElections.RemoveBroker(image, brokerId, _options.UncleanLeaderElectionDefault, records);
            records.Add(new UnregisterBrokerRecord { BrokerId = brokerId, BrokerEpoch = broker.Epoch });
            await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            _sessions.Remove(brokerId);
            return ErrorCode.None;
        }, cancellationToken);

    /// <summary>
    /// The periodic session check (Kafka fences stale brokers from the controller's event loop): every unfenced broker
    /// not heard from for <c>broker.session.timeout.ms</c> is fenced, one commit each. Brokers this controller has no
    /// session for (registered before it started) get one from now, as a newly active Kafka controller does.
    /// Returns the ids fenced.
    /// </summary>
    public Task<IReadOnlyList<int>> FenceExpiredSessionsAsync(CancellationToken cancellationToken) =>
        _controller.RunExclusiveAsync<IReadOnlyList<int>>(async image =>
        {
            var now = NowMs;
            var fenced = new List<int>();
            foreach (var broker in image.Brokers.Values)
            {
                if (broker.Fenced)
                {
                    continue;
                }

                if (!_sessions.TryGetValue(broker.NodeId, out var session) || session.Epoch != broker.Epoch)
                {
                    _sessions[broker.NodeId] = new Session(now, broker.Epoch);
                    continue;
                }

                if (now - session.LastContactMs > _options.SessionTimeoutMs)
                {
                    image = await FenceAsync(image, image.Brokers[broker.NodeId], cancellationToken).ConfigureAwait(false);
                    fenced.Add(broker.NodeId);
                }
            }

            return fenced;
        }, cancellationToken);

    /// <summary>
    /// This node became the active controller (again): every broker's session starts afresh from now, as a newly active
    /// Kafka controller's heartbeat manager does. Heartbeats went to another controller meanwhile, so contact times kept
    /// from an earlier term would fence live brokers, this one included, at the first check.
    /// </summary>
    public Task StartSessionsAfreshAsync(CancellationToken cancellationToken) =>
        _controller.RunExclusiveAsync<bool>(_ =>
        {
            var now = NowMs;
            foreach (var session in _sessions.Values)
            {
                session.LastContactMs = now;
            }

            return Task.FromResult(true);
        }, cancellationToken);

    private async Task<MetadataImage> FenceAsync(MetadataImage image, BrokerInfo broker, CancellationToken cancellationToken)
    {
        var records = new List<IApiMessage>();
        PartitionElections.RemoveBroker(image, broker.NodeId, _options.UncleanLeaderElectionDefault, records);
        records.Add(new BrokerRegistrationChangeRecord { BrokerId = broker.NodeId, BrokerEpoch = broker.Epoch, Fenced = 1 });
        return await _controller.Store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
    }

    private Session Touch(int brokerId, long epoch)
    {
        if (!_sessions.TryGetValue(brokerId, out var session) || session.Epoch != epoch)
        {
            _sessions[brokerId] = session = new Session(NowMs, epoch);
        }

        session.LastContactMs = NowMs;
        return session;
    }

    // The smallest metadata offset reported by an unfenced broker; one not heard from yet counts as -1, as in Kafka.
    private long LowestActiveOffset(MetadataImage image)
    {
        var lowest = long.MaxValue;
        foreach (var broker in image.Brokers.Values)
        {
            if (!broker.Fenced)
            {
                var offset = _sessions.TryGetValue(broker.NodeId, out var session) && session.Epoch == broker.Epoch ? session.MetadataOffset : -1;
                lowest = Math.Min(lowest, offset);
            }
        }

        return lowest;
    }

    private bool HasLiveSession(BrokerInfo broker) =>
        !broker.Fenced
        && _sessions.TryGetValue(broker.NodeId, out var session)
        && session.Epoch == broker.Epoch
        && NowMs - session.LastContactMs <= _options.SessionTimeoutMs;

    private static bool LeadsNothing(MetadataImage image, int brokerId)
    {
        foreach (var topic in image.TopicsById.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                if (partition.Leader == brokerId)
                {
                    return false;
                }
            }
        }

        return true;
    }

    // Kafka's ClusterControlManager.registerBroker: every declared range must hold the finalized level, a feature not
    // finalized counting as level 0 (metadata.version as 1); a finalized feature the broker does not declare counts as
    // supported at level 0 only (metadata.version at 1 only). The finalized levels include the quorum's kraft.version.
    private string? UnsupportedFeature(MetadataImage image, BrokerRegistrationRequestInfo request)
    {
        var finalized = image.FinalizedFeatures.SetItem(MetadataFeatures.KRaftVersion, _options.KRaftVersion?.Invoke() ?? 0);
        foreach (var (name, min, max) in request.Features)
        {
            var level = finalized.TryGetValue(name, out var finalizedLevel) ? finalizedLevel : AssumedLevel(name);
            if (Refusal(name, level, min, max) is { } refusal)
            {
                return refusal;
            }
        }

        foreach (var (name, level) in finalized)
        {
            if (!Declares(request, name) && Refusal(name, level, AssumedLevel(name), AssumedLevel(name)) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    private static short AssumedLevel(string name) => name == MetadataFeatures.MetadataVersion ? (short)1 : (short)0;

    private static bool Declares(BrokerRegistrationRequestInfo request, string name)
    {
        foreach (var feature in request.Features)
        {
            if (string.Equals(feature.Name, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string? Refusal(string name, short level, short min, short max) =>
        level < min || level > max
            ? $"Unable to register because the broker does not support finalized version {level} of {name}. The broker wants a version between {min} and {max}, inclusive."
            : null;

    /// <summary>One broker's heartbeat session. Guarded by the controller's mutex.</summary>
    private sealed class Session(long lastContactMs, long epoch)
    {
        public long LastContactMs { get; set; } = lastContactMs;

        public long Epoch { get; } = epoch;

        public long ControlledShutdownOffset { get; set; } = long.MaxValue;

        /// <summary>Kafka's SHUTDOWN_NOW: this incarnation was told to shut down and is never unfenced again.</summary>
        public bool ShutDownGranted { get; set; }

        /// <summary>The metadata offset the broker reported in its last heartbeat (-1 before the first).</summary>
        public long MetadataOffset { get; set; } = -1;
    }
}
