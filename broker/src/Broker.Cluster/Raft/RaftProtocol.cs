using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Raft;

/// <summary>
/// Builders and accessors for the single-partition (<c>__cluster_metadata-0</c>) Raft messages, so the core reads as
/// Raft rather than as nested topic/partition lists. Outbound messages use the fields of the latest version of each API
/// (Vote 1, BeginQuorumEpoch 1, EndQuorumEpoch 1, Fetch 17, DescribeQuorum 2, ApiVersions 4), as Kafka's controllers
/// talk to each other; inbound ones are read from any version. Stateless; thread-safe.
/// </summary>
internal static class RaftProtocol
{
    public const string TopicName = MetadataTopic.TopicName;

    /// <summary>INCONSISTENT_VOTER_SET: the sender or receiver is not a voter (not in the shared ErrorCode enum yet).</summary>
    public const short InconsistentVoterSet = 94;

    /// <summary>DUPLICATE_VOTER: AddRaftVoter for an id that is already a voter.</summary>
    public const ErrorCode DuplicateVoter = (ErrorCode)126;

    /// <summary>VOTER_NOT_FOUND: RemoveRaftVoter for a (id, directory id) that is not a voter (or the last one).</summary>
    public const ErrorCode VoterNotFound = (ErrorCode)127;

    /// <summary>SNAPSHOT_NOT_FOUND: the requested snapshot is not (or no longer) on the leader.</summary>
    public const short SnapshotNotFound = 98;

    /// <summary>POSITION_OUT_OF_RANGE: a FetchSnapshot position past the snapshot's size.</summary>
    public const short PositionOutOfRange = 99;

    /// <summary>
    /// The leader's ApiVersions request to a new voter (KIP-853), asking which kraft.version range it supports. Meant for
    /// v4: v3 leaves out features whose minimum is 0, which kraft.version's is. The software name and version are the
    /// KIP-511 tokens a v3+ request must carry.
    /// </summary>
    public static ApiVersionsRequest ApiVersionsRequest() => new() { ClientSoftwareName = "broker-kraft", ClientSoftwareVersion = "1" };

    /// <summary>The kraft.version range an ApiVersions response advertises; (0, 0) when it names none (Kafka's reading of
    /// an absent entry, which only supports a static quorum).</summary>
    public static (short Min, short Max) SupportedKRaftVersions(ApiVersionsResponse response)
    {
        foreach (var feature in response.SupportedFeatures)
        {
            if (feature.Name == MetadataFeatures.KRaftVersion)
            {
                return (feature.MinVersion, feature.MaxVersion);
            }
        }

        return (0, 0);
    }

    public static VoteRequest VoteRequest(string? clusterId, int voterId, int candidateId, int epoch, OffsetAndEpoch logEnd) => new()
    {
        ClusterId = clusterId,
        VoterId = voterId,
        Topics =
        [
            new VoteRequest.TopicData
            {
                TopicName = TopicName,
                Partitions =
                [
                    new VoteRequest.PartitionData
                    {
                        CandidateEpoch = epoch, CandidateId = candidateId, LastOffsetEpoch = logEnd.Epoch, LastOffset = logEnd.Offset,
                    },
                ],
            },
        ],
    };

    public static VoteResponse VoteResponse(short error, int leaderId, int epoch, bool granted) => new()
    {
        Topics =
        [
            new VoteResponse.TopicData
            {
                TopicName = TopicName,
                Partitions = [new VoteResponse.PartitionData { ErrorCode = error, LeaderId = leaderId, LeaderEpoch = epoch, VoteGranted = granted }],
            },
        ],
    };

    public static BeginQuorumEpochRequest BeginQuorumEpochRequest(string? clusterId, int voterId, int leaderId, int epoch) => new()
    {
        ClusterId = clusterId,
        VoterId = voterId,
        Topics =
        [
            new BeginQuorumEpochRequest.TopicData
            {
                TopicName = TopicName,
                Partitions = [new BeginQuorumEpochRequest.PartitionData { LeaderId = leaderId, LeaderEpoch = epoch }],
            },
        ],
    };

    public static BeginQuorumEpochResponse BeginQuorumEpochResponse(short error, int leaderId, int epoch) => new()
    {
        Topics =
        [
            new BeginQuorumEpochResponse.TopicData
            {
                TopicName = TopicName,
                Partitions = [new BeginQuorumEpochResponse.PartitionData { ErrorCode = error, LeaderId = leaderId, LeaderEpoch = epoch }],
            },
        ],
    };

    public static EndQuorumEpochRequest EndQuorumEpochRequest(string? clusterId, int leaderId, int epoch, IReadOnlyList<int> successors)
    {
        var partition = new EndQuorumEpochRequest.PartitionData { LeaderId = leaderId, LeaderEpoch = epoch };
        foreach (var id in successors)
        {
            partition.PreferredCandidates.Add(new EndQuorumEpochRequest.ReplicaInfo { CandidateId = id });
        }

        return new EndQuorumEpochRequest
        {
            ClusterId = clusterId,
            Topics = [new EndQuorumEpochRequest.TopicData { TopicName = TopicName, Partitions = [partition] }],
        };
    }

    public static EndQuorumEpochResponse EndQuorumEpochResponse(short error, int leaderId, int epoch) => new()
    {
        Topics =
        [
            new EndQuorumEpochResponse.TopicData
            {
                TopicName = TopicName,
                Partitions = [new EndQuorumEpochResponse.PartitionData { ErrorCode = error, LeaderId = leaderId, LeaderEpoch = epoch }],
            },
        ],
    };

    public static FetchRequest FetchRequest(string? clusterId, int replicaId, int epoch, OffsetAndEpoch logEnd, int maxWaitMs, int maxBytes,
        Guid directoryId = default) => new()
    {
        ClusterId = clusterId,
        ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = replicaId },
        MaxWaitMs = maxWaitMs,
        MinBytes = 0,
        MaxBytes = maxBytes,
        Topics =
        [
            new FetchRequest.FetchTopic
            {
                Topic = TopicName,
                TopicId = MetadataTopic.TopicId,
                Partitions =
                [
                    new FetchRequest.FetchPartition
                    {
                        CurrentLeaderEpoch = epoch, FetchOffset = logEnd.Offset, LastFetchedEpoch = logEnd.Epoch, PartitionMaxBytes = maxBytes,
                        ReplicaDirectoryId = directoryId,
                    },
                ],
            },
        ],
    };

    /// <summary>A fetch response with its partition; the caller fills records, watermark or diverging epoch.</summary>
    public static (FetchResponse Response, FetchResponse.PartitionData Partition) FetchResponse(short error, int leaderId, int epoch, long highWatermark,
        long logStartOffset = 0)
    {
        var partition = new FetchResponse.PartitionData { ErrorCode = error, HighWatermark = highWatermark, LogStartOffset = logStartOffset };
        partition.CurrentLeader.LeaderId = leaderId;
        partition.CurrentLeader.LeaderEpoch = epoch;
        var response = new FetchResponse
        {
            Responses = [new FetchResponse.FetchableTopicResponse { Topic = TopicName, TopicId = MetadataTopic.TopicId, Partitions = [partition] }],
        };
        return (response, partition);
    }

    public static FetchSnapshotRequest FetchSnapshotRequest(string? clusterId, int replicaId, int epoch, OffsetAndEpoch snapshot, long position,
        int maxBytes)
    {
        var partition = new FetchSnapshotRequest.PartitionSnapshot { Partition = 0, CurrentLeaderEpoch = epoch, Position = position };
        partition.SnapshotId.EndOffset = snapshot.Offset;
        partition.SnapshotId.Epoch = snapshot.Epoch;
        return new FetchSnapshotRequest
        {
            ClusterId = clusterId,
            ReplicaId = replicaId,
            MaxBytes = maxBytes,
            Topics = [new FetchSnapshotRequest.TopicSnapshot { Name = TopicName, Partitions = [partition] }],
        };
    }

    /// <summary>A FetchSnapshot response with its partition; the caller fills the chunk.</summary>
    public static (FetchSnapshotResponse Response, FetchSnapshotResponse.PartitionSnapshot Partition) FetchSnapshotResponse(short error,
        int leaderId, int epoch)
    {
        var partition = new FetchSnapshotResponse.PartitionSnapshot { Index = 0, ErrorCode = error };
        partition.CurrentLeader.LeaderId = leaderId;
        partition.CurrentLeader.LeaderEpoch = epoch;
        var response = new FetchSnapshotResponse
        {
            Topics = [new FetchSnapshotResponse.TopicSnapshot { Name = TopicName, Partitions = [partition] }],
        };
        return (response, partition);
    }

    public static bool TryGetPartition(FetchSnapshotRequest request, out FetchSnapshotRequest.PartitionSnapshot partition)
    {
        if (request.Topics.Count == 1 && request.Topics[0].Name == TopicName && request.Topics[0].Partitions.Count == 1
            && request.Topics[0].Partitions[0].Partition == 0)
        {
            partition = request.Topics[0].Partitions[0];
            return true;
        }

        partition = null!;
        return false;
    }

    public static bool TryGetPartition(FetchSnapshotResponse response, out FetchSnapshotResponse.PartitionSnapshot partition)
    {
        if (response.Topics.Count == 1 && response.Topics[0].Partitions.Count == 1 && response.Topics[0].Partitions[0].Index == 0)
        {
            partition = response.Topics[0].Partitions[0];
            return true;
        }

        partition = null!;
        return false;
    }

    /// <summary>The request's replica id: <c>ReplicaState.ReplicaId</c> from v15, the top-level field before.</summary>
    public static int ReplicaId(FetchRequest request) =>
        request.ReplicaState.ReplicaId >= 0 ? request.ReplicaState.ReplicaId : request.ReplicaId;

    public static bool TryGetPartition(FetchRequest request, out FetchRequest.FetchPartition partition)
    {
        foreach (var topic in request.Topics)
        {
            if ((topic.Topic == TopicName || topic.TopicId == MetadataTopic.TopicId) && topic.Partitions.Count > 0 && topic.Partitions[0].Partition == 0)
            {
                partition = topic.Partitions[0];
                return true;
            }
        }

        partition = null!;
        return false;
    }

    public static bool TryGetPartition(FetchResponse response, out FetchResponse.PartitionData partition)
    {
        foreach (var topic in response.Responses)
        {
            if (topic.Partitions.Count > 0 && topic.Partitions[0].PartitionIndex == 0)
            {
                partition = topic.Partitions[0];
                return true;
            }
        }

        partition = null!;
        return false;
    }

    public static bool IsError(short code, ErrorCode expected) => code == (short)expected;
}
