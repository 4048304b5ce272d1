using System.Text;
using Broker.Protocol;

namespace Broker.Coordinators.Groups;

/// <summary>Committed offsets, group listing and deletion, and offset expiry. Thread-safe (see the main part).</summary>
public sealed partial class GroupCoordinator
{
    /// <summary>
    /// OffsetCommit: validates the committer (ClassicGroup.validateOffsetCommit), then each partition (unknown topic or
    /// partition, metadata size), and writes the accepted offsets as one batch to the group's partition.
    /// </summary>
    public IReadOnlyList<(OffsetCommitEntry Entry, ErrorCode Error)> CommitOffsets(OffsetCommitCall call)
    {
        var results = new List<(OffsetCommitEntry, ErrorCode)>(call.Offsets.Count);
        var error = call.GroupId.Length == 0 ? ErrorCode.InvalidGroupId : CoordinatorError(call.GroupId);
        if (error != ErrorCode.None)
        {
            return AllFailed(call.Offsets, error);
        }

        var now = NowMs;
        ClassicGroup group;
        if (!_groups.TryGetValue(call.GroupId, out group!))
        {
            if (call.GenerationId >= 0)
            {
                return AllFailed(call.Offsets, call.GroupIdNotFoundSupported ? ErrorCode.GroupIdNotFound : ErrorCode.IllegalGeneration);
            }

            // A "simple" group: offsets committed by assign()-style consumers or admin tools.
            group = _groups.GetOrAdd(call.GroupId, id => new ClassicGroup(id, _options, now));
        }

        lock (group.Lock)
        {
            error = group.ValidateOffsetCommit(call.GenerationId, call.MemberId, call.GroupInstanceId, now);
            if (error != ErrorCode.None)
            {
                return AllFailed(call.Offsets, error);
            }

            var records = new List<GroupLogRecord>(call.Offsets.Count);
            var accepted = new List<(OffsetCommitEntry, CommittedOffset)>(call.Offsets.Count);
            foreach (var entry in call.Offsets)
            {
                var metadata = entry.Metadata ?? "";
                if (!_partitionExists(entry.Topic, entry.Partition))
                {
                    results.Add((entry, ErrorCode.UnknownTopicOrPartition));
                }
                else if (Encoding.UTF8.GetByteCount(metadata) > _options.OffsetMetadataMaxBytes)
                {
                    results.Add((entry, ErrorCode.OffsetMetadataTooLarge));
                }
                else
                {
                    var expire = call.RetentionTimeMs >= 0 ? now + call.RetentionTimeMs : -1;
                    var offset = new CommittedOffset(entry.Offset, entry.LeaderEpoch, metadata, now, expire);
                    records.Add(GroupRecords.Offset(call.GroupId, entry.Topic, entry.Partition, offset));
                    accepted.Add((entry, offset));
                }
            }

            if (records.Count > 0)
            {
                var appendError = _log.Append(PartitionFor(call.GroupId), records, now);
                appendError = appendError == ErrorCode.None ? appendError : ErrorCode.NotCoordinator;
                foreach (var (entry, offset) in accepted)
                {
                    if (appendError == ErrorCode.None)
                    {
                        group.Offsets[(entry.Topic, entry.Partition)] = offset;
                    }

                    results.Add((entry, appendError));
                }
            }
        }

        return results;
    }

    private static List<(OffsetCommitEntry, ErrorCode)> AllFailed(IReadOnlyList<OffsetCommitEntry> entries, ErrorCode error)
    {
        var results = new List<(OffsetCommitEntry, ErrorCode)>(entries.Count);
        foreach (var entry in entries)
        {
            results.Add((entry, error));
        }

        return results;
    }

    /// <summary>
    /// OffsetFetch for one group: the requested partitions (offset -1 where nothing is committed), or every committed
    /// partition when <paramref name="topics"/> is null. Returns the group-level error (coordinator checks).
    /// </summary>
    public ErrorCode FetchOffsets(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics, List<FetchedOffset> into)
    {
        if (CoordinatorError(groupId) is not ErrorCode.None and var error)
        {
            return error;
        }

        _groups.TryGetValue(groupId, out var group);
        if (group is null)
        {
            foreach (var (topic, partitions) in topics ?? [])
            {
                foreach (var p in partitions)
                {
                    into.Add(new FetchedOffset(topic, p, -1, -1, "", ErrorCode.None));
                }
            }

            return ErrorCode.None;
        }

        lock (group.Lock)
        {
            if (topics is null)
            {
                foreach (var ((topic, p), offset) in group.Offsets)
                {
                    into.Add(new FetchedOffset(topic, p, offset.Offset, offset.LeaderEpoch, offset.Metadata, ErrorCode.None));
                }

                return ErrorCode.None;
            }

            foreach (var (topic, partitions) in topics)
            {
                foreach (var p in partitions)
                {
                    into.Add(group.Offsets.TryGetValue((topic, p), out var offset)
                        ? new FetchedOffset(topic, p, offset.Offset, offset.LeaderEpoch, offset.Metadata, ErrorCode.None)
                        : new FetchedOffset(topic, p, -1, -1, "", ErrorCode.None));
                }
            }
        }

        return ErrorCode.None;
    }

    /// <summary>
    /// OffsetDelete: removes committed offsets of a group (tombstones). A partition whose topic a consumer-protocol member
    /// still subscribes to is refused with GROUP_SUBSCRIBED_TO_TOPIC; a non-empty group of another protocol with NON_EMPTY_GROUP.
    /// </summary>
    public ErrorCode DeleteOffsets(string groupId, IReadOnlyList<(string Topic, int Partition)> partitions, List<ErrorCode> into)
    {
        if (CoordinatorError(groupId) is not ErrorCode.None and var error)
        {
            return error;
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return ErrorCode.GroupIdNotFound;
        }

        lock (group.Lock)
        {
            if (group.State == GroupState.Dead)
            {
                return ErrorCode.GroupIdNotFound;
            }

            HashSet<string>? subscribed = null;
            if (group.State != GroupState.Empty)
            {
                if (group.ProtocolType != "consumer")
                {
                    return ErrorCode.NonEmptyGroup;
                }

                subscribed = SubscribedTopics(group);
                if (subscribed is null)
                {
                    return ErrorCode.NonEmptyGroup;
                }
            }

            var now = NowMs;
            var records = new List<GroupLogRecord>();
            foreach (var (topic, p) in partitions)
            {
                if (subscribed is not null && subscribed.Contains(topic))
                {
                    into.Add(ErrorCode.GroupSubscribedToTopic);
                    continue;
                }

                if (group.Offsets.Remove((topic, p)))
                {
                    records.Add(GroupRecords.Offset(groupId, topic, p, null));
                }

                into.Add(ErrorCode.None);
            }

            if (records.Count > 0)
            {
                _log.Append(PartitionFor(groupId), records, now);
            }
        }

        return ErrorCode.None;
    }

    // Null when a member's subscription cannot be read: callers then keep every offset rather than guess.
    private static HashSet<string>? SubscribedTopics(ClassicGroup group)
    {
        var topics = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in group.Members)
        {
            if (ConsumerSubscription.TryReadTopics(m.MetadataFor(group.ProtocolName)) is not { } subscribed)
            {
                return null;
            }

            topics.UnionWith(subscribed);
        }

        return topics;
    }

    /// <summary>ListGroups: the groups served here, optionally filtered by state names (case-insensitive) and types.</summary>
    public List<GroupListing> ListGroups(IReadOnlyCollection<string> statesFilter, IReadOnlyCollection<string> typesFilter)
    {
        var result = new List<GroupListing>();
        if (typesFilter.Count > 0 && !typesFilter.Contains("classic", StringComparer.OrdinalIgnoreCase))
        {
            return result;
        }

        foreach (var (id, group) in _groups)
        {
            if (CoordinatorError(id) != ErrorCode.None)
            {
                continue;
            }

            lock (group.Lock)
            {
                var name = GroupStateNames.Name(group.State);
                if (group.State != GroupState.Dead && (statesFilter.Count == 0 || statesFilter.Contains(name, StringComparer.OrdinalIgnoreCase)))
                {
                    result.Add(new GroupListing(id, group.ProtocolType ?? "", group.State));
                }
            }
        }

        return result;
    }

    /// <summary>DescribeGroups for one group; an unknown group is reported Dead with no error, as Kafka does for classic groups.</summary>
    public GroupDescription DescribeGroup(string groupId)
    {
        if (CoordinatorError(groupId) is not ErrorCode.None and var error)
        {
            return new GroupDescription(groupId, error, GroupState.Dead, "", "", [], -1);
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return new GroupDescription(groupId, ErrorCode.None, GroupState.Dead, "", "", [], -1);
        }

        lock (group.Lock)
        {
            // Metadata and assignments are only meaningful once the group is Stable.
            var stable = group.State == GroupState.Stable;
            var members = new List<DescribedMember>();
            foreach (var m in group.Members)
            {
                members.Add(new DescribedMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
                    stable ? m.MetadataFor(group.ProtocolName) : [], stable ? m.Assignment : []));
            }

            return new GroupDescription(groupId, ErrorCode.None, group.State, group.ProtocolType ?? "", stable ? group.ProtocolName ?? "" : "", members, group.GenerationId);
        }
    }

    /// <summary>DeleteGroups for one group: only an Empty group goes (its offsets and metadata get tombstones).</summary>
    public ErrorCode DeleteGroup(string groupId)
    {
        if (CoordinatorError(groupId) is not ErrorCode.None and var error)
        {
            return error;
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return ErrorCode.GroupIdNotFound;
        }

        lock (group.Lock)
        {
            if (group.State == GroupState.Dead)
            {
                return ErrorCode.GroupIdNotFound;
            }

            if (group.State != GroupState.Empty)
            {
                return ErrorCode.NonEmptyGroup;
            }

            var records = new List<GroupLogRecord>();
            foreach (var (topic, p) in group.Offsets.Keys)
            {
                records.Add(GroupRecords.Offset(groupId, topic, p, null));
            }

            records.Add(GroupRecords.Group(groupId, null));
            var appendError = _log.Append(PartitionFor(groupId), records, NowMs);
            if (appendError != ErrorCode.None)
            {
                return ErrorCode.NotCoordinator;
            }

            group.Offsets.Clear();
            group.MarkDead();
            _groups.TryRemove(groupId, out _);
        }

        return ErrorCode.None;
    }

    /// <summary>
    /// offsets.retention.minutes: an Empty group with a protocol loses all offsets once retention passed since it became
    /// Empty; a simple group loses each offset retention after its commit (or at its explicit expire timestamp); a Stable
    /// consumer group loses offsets of topics no member subscribes to any more. Empty groups left with nothing are removed.
    /// </summary>
    public void ExpireOffsets(long nowMs)
    {
        foreach (var (id, group) in _groups)
        {
            lock (group.Lock)
            {
                if (group.State == GroupState.Dead)
                {
                    continue;
                }

                var subscribed = group.State == GroupState.Stable && group.ProtocolType == "consumer" ? SubscribedTopics(group) : null;
                var expired = new List<(string, int)>();
                foreach (var (key, offset) in group.Offsets)
                {
                    bool expire;
                    if (offset.ExpireTimestamp >= 0)
                    {
                        expire = nowMs >= offset.ExpireTimestamp;
                    }
                    else if (group.State == GroupState.Empty)
                    {
                        var since = group.ProtocolType is null ? offset.CommitTimestamp : group.StateTimestampMs;
                        expire = nowMs - since >= _options.OffsetsRetentionMs;
                    }
                    else
                    {
                        expire = subscribed is not null && !subscribed.Contains(key.Topic) && nowMs - offset.CommitTimestamp >= _options.OffsetsRetentionMs;
                    }

                    if (expire)
                    {
                        expired.Add(key);
                    }
                }

                var records = new List<GroupLogRecord>();
                foreach (var (topic, p) in expired)
                {
                    group.Offsets.Remove((topic, p));
                    records.Add(GroupRecords.Offset(id, topic, p, null));
                }

                var remove = group.State == GroupState.Empty && group.Offsets.Count == 0 && group.PendingMemberCount == 0;
                if (remove && (expired.Count > 0 || group.GenerationId > 0))
                {
                    records.Add(GroupRecords.Group(id, null));
                }

                if (records.Count > 0)
                {
                    _log.Append(PartitionFor(id), records, nowMs);
                }

                if (remove)
                {
                    group.MarkDead();
                    _groups.TryRemove(id, out _);
                }
            }
        }
    }

    /// <summary>Every committed offset served here, for the lag gauge.</summary>
    public List<(string Group, string Topic, int Partition, long Offset)> CommittedOffsets()
    {
        var result = new List<(string, string, int, long)>();
        foreach (var (id, group) in _groups)
        {
            lock (group.Lock)
            {
                foreach (var ((topic, p), offset) in group.Offsets)
                {
                    result.Add((id, topic, p, offset.Offset));
                }
            }
        }

        return result;
    }
}
