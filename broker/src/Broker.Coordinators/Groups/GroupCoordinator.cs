using System.Collections.Concurrent;
using Broker.Protocol;
using Microsoft.Extensions.Logging;

namespace Broker.Coordinators.Groups;

/// <summary>
/// The classic group coordinator: owns the groups whose <c>__consumer_offsets</c> partition this broker leads, runs
/// their state machines (see <see cref="ClassicGroup"/>), and persists offsets and group metadata to that partition.
/// A partition serves only once it has been loaded (replayed). Deadlines advance through <see cref="Tick(long)"/>, which
/// the host calls every ~100 ms and tests call with a manual clock. Thread-safe: each group has its own lock, and
/// the group map and partition states are concurrent collections.
/// </summary>
public sealed partial class GroupCoordinator
{
    private readonly GroupCoordinatorOptions _options;
    private readonly IGroupLog _log;
    private readonly Func<string, int, bool> _partitionExists;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ClassicGroup> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, bool> _partitions = new(); // value: loaded (false while loading)
    private long _lastRetentionCheckMs;

    /// <param name="partitionExists">Whether a topic partition exists, for OffsetCommit validation.</param>
    public GroupCoordinator(GroupCoordinatorOptions options, IGroupLog log, Func<string, int, bool> partitionExists, TimeProvider time, ILogger logger)
    {
        _options = options;
        _log = log;
        _partitionExists = partitionExists;
        _time = time;
        _logger = logger;
        _lastRetentionCheckMs = NowMs;
    }

    public GroupCoordinatorOptions Options => _options;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public int PartitionFor(string groupId) => GroupPartitioner.PartitionFor(groupId, _log.PartitionCount);

    // ---- partition ownership ----

    /// <summary>As <see cref="OnLeadership(IReadOnlySet{int}, Action{int})"/>, loading new partitions on the thread pool.</summary>
    public void OnLeadership(IReadOnlySet<int> ledHere) => OnLeadership(ledHere, p => _ = Task.Run(() => LoadLogged(p)));

    private void LoadLogged(int partition)
    {
        try
        {
            Load(partition);
        }
        catch (Exception e) when (e is IOException or KafkaProtocolException or InvalidOperationException)
        {
            // The partition stays in COORDINATOR_LOAD_IN_PROGRESS; clients keep retrying and the operator sees the log.
            LogLoadFailed(_logger, partition, e);
        }
    }

    /// <summary>Brings the served partitions in line with the ones led here: new ones are loaded (in the background via <paramref name="scheduleLoad"/>), lost ones unloaded.</summary>
    public void OnLeadership(IReadOnlySet<int> ledHere, Action<int> scheduleLoad)
    {
        foreach (var p in ledHere)
        {
            if (_partitions.TryAdd(p, false))
            {
                scheduleLoad(p);
            }
        }

        foreach (var p in _partitions.Keys)
        {
            if (!ledHere.Contains(p))
            {
                Unload(p);
            }
        }
    }

    /// <summary>
    /// Replays a partition: the latest value per key wins, tombstones delete. Groups with members come back Stable and
    /// must heartbeat within their session timeout. The partition serves once this returns.
    /// </summary>
    public void Load(int partition)
    {
        _partitions[partition] = false;
        var offsets = new Dictionary<(string Group, string Topic, int Partition), CommittedOffset>();
        var metadata = new Dictionary<string, Protocol.Coordinator.GroupMetadataValue>(StringComparer.Ordinal);
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in _log.ReadAll(partition))
        {
            var (offsetKey, groupKey) = GroupRecords.ReadKey(record.Key);
            if (offsetKey is not null)
            {
                var key = (offsetKey.Group, offsetKey.Topic, offsetKey.Partition);
                if (record.Value is null)
                {
                    offsets.Remove(key);
                    continue;
                }

                var v = GroupRecords.ReadOffsetValue(record.Value);
                offsets[key] = new CommittedOffset(v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp, v.ExpireTimestamp);
                groups.Add(offsetKey.Group);
            }
            else if (groupKey is not null)
            {
                if (record.Value is null)
                {
                    metadata.Remove(groupKey.Group);
                }
                else
                {
                    metadata[groupKey.Group] = GroupRecords.ReadGroupValue(record.Value);
                    groups.Add(groupKey.Group);
                }
            }
        }

        var now = NowMs;
        var loaded = 0;
        foreach (var groupId in groups)
        {
            var hasMetadata = metadata.TryGetValue(groupId, out var value);
            var group = new ClassicGroup(groupId, _options, now);
            if (hasMetadata)
            {
                var members = new List<GroupMember>();
                foreach (var m in value!.Members)
                {
                    members.Add(new GroupMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, m.SessionTimeout, m.RebalanceTimeout,
                        [new GroupProtocol(value.Protocol ?? "", m.Subscription.ToArray())])
                    {
                        Assignment = m.Assignment.ToArray(),
                    });
                }

                group.Restore(value.ProtocolType, value.Generation, value.Protocol, value.Leader, value.CurrentStateTimestamp, members, now);
            }

            foreach (var ((g, topic, p), offset) in offsets)
            {
                if (g == groupId)
                {
                    group.Offsets[(topic, p)] = offset;
                }
            }

            if (hasMetadata || group.Offsets.Count > 0)
            {
                _groups[groupId] = group;
                loaded++;
            }
        }

        _partitions[partition] = true;
        LogLoaded(_logger, partition, loaded);
    }

    private void Unload(int partition)
    {
        _partitions.TryRemove(partition, out _);
        foreach (var (id, group) in _groups)
        {
            if (PartitionFor(id) == partition)
            {
                lock (group.Lock)
                {
                    group.MarkDead();
                }

                _groups.TryRemove(id, out _);
            }
        }
    }

    /// <summary>None when this broker serves the group's partition; else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.</summary>
    public ErrorCode CoordinatorError(string groupId)
    {
        if (!_partitions.TryGetValue(PartitionFor(groupId), out var loaded))
        {
            return ErrorCode.NotCoordinator;
        }

        return loaded ? ErrorCode.None : ErrorCode.CoordinatorLoadInProgress;
    }

    /// <summary>
    /// FindCoordinator for a group: the leader of its partition, after creating the offsets topic if it is missing
    /// (COORDINATOR_NOT_AVAILABLE meanwhile, as in Kafka).
    /// </summary>
    public async Task<(ErrorCode Error, int NodeId)> FindCoordinatorAsync(string groupId, CancellationToken cancellationToken)
    {
        if (!await _log.EnsureTopicAsync(cancellationToken).ConfigureAwait(false))
        {
            return (ErrorCode.CoordinatorNotAvailable, -1);
        }

        var leader = _log.LeaderOf(PartitionFor(groupId));
        return leader < 0 ? (ErrorCode.CoordinatorNotAvailable, -1) : (ErrorCode.None, leader);
    }

    // ---- membership ----

    public async Task<JoinGroupResult> JoinGroupAsync(JoinGroupCall call, CancellationToken cancellationToken)
    {
        if (call.GroupId.Length == 0)
        {
            return JoinGroupResult.Failed(ErrorCode.InvalidGroupId, call.MemberId);
        }

        if (CoordinatorError(call.GroupId) is not ErrorCode.None and var error)
        {
            return JoinGroupResult.Failed(error, call.MemberId);
        }

        if (call.SessionTimeoutMs < _options.MinSessionTimeoutMs || call.SessionTimeoutMs > _options.MaxSessionTimeoutMs)
        {
            return JoinGroupResult.Failed(ErrorCode.InvalidSessionTimeout, call.MemberId);
        }

        var now = NowMs;
        ClassicGroup group;
        if (call.MemberId.Length == 0)
        {
            group = _groups.GetOrAdd(call.GroupId, id => new ClassicGroup(id, _options, now));
        }
        else if (!_groups.TryGetValue(call.GroupId, out group!))
        {
            return JoinGroupResult.Failed(ErrorCode.UnknownMemberId, call.MemberId);
        }

        Task<JoinGroupResult> pending;
        lock (group.Lock)
        {
            pending = group.Join(call, () => _options.NewGuid().ToString(), now);
            PersistIfDirty(group, now);
        }

        try
        {
            return await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The broker is stopping: the member goes looking for the coordinator again, as after Kafka's unload.
            return JoinGroupResult.Failed(ErrorCode.NotCoordinator, call.MemberId);
        }
    }

    public async Task<SyncGroupResult> SyncGroupAsync(SyncGroupCall call, CancellationToken cancellationToken)
    {
        if (CoordinatorError(call.GroupId) is not ErrorCode.None and var error)
        {
            return SyncGroupResult.Failed(error);
        }

        if (!_groups.TryGetValue(call.GroupId, out var group))
        {
            return SyncGroupResult.Failed(ErrorCode.UnknownMemberId);
        }

        Task<SyncGroupResult> pending;
        lock (group.Lock)
        {
            var now = NowMs;
            pending = group.Sync(call, now);
            PersistIfDirty(group, now);
        }

        try
        {
            return await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return SyncGroupResult.Failed(ErrorCode.NotCoordinator);
        }
    }

    public ErrorCode Heartbeat(string groupId, string memberId, string? groupInstanceId, int generationId)
    {
        if (CoordinatorError(groupId) is not ErrorCode.None and var error)
        {
            return error;
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return ErrorCode.UnknownMemberId;
        }

        lock (group.Lock)
        {
            return group.Heartbeat(memberId, groupInstanceId, generationId, NowMs);
        }
    }

    public LeaveGroupResult LeaveGroup(string groupId, IReadOnlyList<LeavingMember> members)
    {
        if (CoordinatorError(groupId) is not ErrorCode.None and var error)
        {
            return new LeaveGroupResult(error, []);
        }

        var results = new List<(LeavingMember, ErrorCode)>(members.Count);
        if (!_groups.TryGetValue(groupId, out var group))
        {
            foreach (var m in members)
            {
                results.Add((m, ErrorCode.UnknownMemberId));
            }

            return new LeaveGroupResult(ErrorCode.None, results);
        }

        lock (group.Lock)
        {
            if (group.State == GroupState.Dead)
            {
                return new LeaveGroupResult(ErrorCode.CoordinatorNotAvailable, []);
            }

            var now = NowMs;
            foreach (var m in members)
            {
                results.Add((m, group.Leave(m, now)));
            }

            PersistIfDirty(group, now);
        }

        return new LeaveGroupResult(ErrorCode.None, results);
    }

    /// <summary>Applies every passed deadline of every group, then offset expiry when its check interval has passed.</summary>
    public void Tick() => Tick(NowMs);

    public void Tick(long nowMs)
    {
        foreach (var group in _groups.Values)
        {
            lock (group.Lock)
            {
                group.Tick(nowMs);
                PersistIfDirty(group, nowMs);
            }
        }

        if (nowMs - _lastRetentionCheckMs >= _options.OffsetsRetentionCheckIntervalMs)
        {
            _lastRetentionCheckMs = nowMs;
            ExpireOffsets(nowMs);
        }
    }

    private void PersistIfDirty(ClassicGroup group, long nowMs)
    {
        if (!group.MetadataDirty)
        {
            return;
        }

        group.MetadataDirty = false;
        var error = _log.Append(PartitionFor(group.GroupId), [GroupRecords.Group(group.GroupId, GroupMetadata.From(group))], nowMs);
        if (error != ErrorCode.None)
        {
            LogPersistFailed(_logger, group.GroupId, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded __consumer_offsets partition {Partition}: {Groups} groups")]
    private static partial void LogLoaded(ILogger logger, int partition, int groups);

    [LoggerMessage(Level = LogLevel.Error, Message = "Loading __consumer_offsets partition {Partition} failed")]
    private static partial void LogLoadFailed(ILogger logger, int partition, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not persist metadata of group {GroupId}: {Error}")]
    private static partial void LogPersistFailed(ILogger logger, string groupId, ErrorCode error);
}
