using Broker.Protocol;

namespace Broker.Coordinators.Groups;

/// <summary>One protocol a member supports, with its (copied) metadata bytes. Immutable; thread-safe.</summary>
public sealed record GroupProtocol(string Name, byte[] Metadata);

/// <summary>A JoinGroup request after decoding. <see cref="RequireKnownMemberId"/> is true on v4+ (KIP-394). Immutable; thread-safe.</summary>
public sealed record JoinGroupCall(
    string GroupId,
    string MemberId,
    string? GroupInstanceId,
    string ClientId,
    string ClientHost,
    int SessionTimeoutMs,
    int RebalanceTimeoutMs,
    string ProtocolType,
    IReadOnlyList<GroupProtocol> Protocols,
    bool RequireKnownMemberId);

/// <summary>A member as the leader sees it in its JoinGroup response. Immutable; thread-safe.</summary>
public sealed record JoinedMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

/// <summary>The JoinGroup answer. Immutable; thread-safe.</summary>
public sealed record JoinGroupResult(
    ErrorCode Error,
    int GenerationId,
    string? ProtocolType,
    string? ProtocolName,
    string Leader,
    string MemberId,
    bool SkipAssignment,
    IReadOnlyList<JoinedMember> Members)
{
    public static JoinGroupResult Failed(ErrorCode error, string memberId = "") => new(error, -1, null, null, "", memberId, false, []);
}

/// <summary>A SyncGroup request after decoding; assignments are only read from the leader. Immutable; thread-safe.</summary>
public sealed record SyncGroupCall(
    string GroupId,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    string? ProtocolType,
    string? ProtocolName,
    IReadOnlyDictionary<string, byte[]> Assignments);

/// <summary>The SyncGroup answer. Immutable; thread-safe.</summary>
public sealed record SyncGroupResult(ErrorCode Error, string? ProtocolType, string? ProtocolName, byte[] Assignment)
{
    public static SyncGroupResult Failed(ErrorCode error) => new(error, null, null, []);
}

/// <summary>One member named by a LeaveGroup request (v3+ batches them). Immutable; thread-safe.</summary>
public sealed record LeavingMember(string MemberId, string? GroupInstanceId);

/// <summary>LeaveGroup answer: top-level error plus one error per named member. Immutable; thread-safe.</summary>
public sealed record LeaveGroupResult(ErrorCode Error, IReadOnlyList<(LeavingMember Member, ErrorCode Error)> Members);

/// <summary>A committed offset. Immutable; thread-safe.</summary>
public sealed record CommittedOffset(long Offset, int LeaderEpoch, string Metadata, long CommitTimestamp, long ExpireTimestamp);

/// <summary>One partition of an OffsetCommit request. Immutable; thread-safe.</summary>
public sealed record OffsetCommitEntry(string Topic, int Partition, long Offset, int LeaderEpoch, string? Metadata);

/// <summary>An OffsetCommit request after decoding. Immutable; thread-safe.</summary>
public sealed record OffsetCommitCall(
    string GroupId,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    long RetentionTimeMs,
    IReadOnlyList<OffsetCommitEntry> Offsets,
    bool GroupIdNotFoundSupported);

/// <summary>One partition of an OffsetFetch answer; offset -1 when nothing is committed. Immutable; thread-safe.</summary>
public sealed record FetchedOffset(string Topic, int Partition, long Offset, int LeaderEpoch, string Metadata, ErrorCode Error);

/// <summary>A group as ListGroups reports it. Immutable; thread-safe.</summary>
public sealed record GroupListing(string GroupId, string ProtocolType, GroupState State);

/// <summary>A member as DescribeGroups reports it. Immutable; thread-safe.</summary>
public sealed record DescribedMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, byte[] Metadata, byte[] Assignment);

/// <summary>A group as DescribeGroups reports it. Immutable; thread-safe.</summary>
public sealed record GroupDescription(
    string GroupId,
    ErrorCode Error,
    GroupState State,
    string ProtocolType,
    string ProtocolData,
    IReadOnlyList<DescribedMember> Members,
    int GenerationId);
